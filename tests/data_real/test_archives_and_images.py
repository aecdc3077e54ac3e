"""Safe reading of manual downloads (archives, folders) and validation of encoded images."""
import io
import pathlib
import tarfile
import zipfile

import pytest
from PIL import Image

from jaxrobust.datasets import archives
from jaxrobust.datasets import images
from tests.helpers.real_formats import (add_tar_bytes, build_dataset, iwildcam_filename, jpeg,
                                       truncated_jpeg, write_iwildcam_folder)


def _tar(path, members):
  with tarfile.open(path, 'w:gz') as tar:
    for name, data in members:
      add_tar_bytes(tar, name, data)
  return path


def test_tar_member_with_dotdot_is_refused(tmp_path):
  path = _tar(tmp_path / 'a.tar.gz', [('ok/a.jpg', b'1'), ('ok/../../b.jpg', b'2')])
  with pytest.raises(archives.UnsafeArchiveError, match='leaves the archive root'):
    list(archives.iter_archive(path))


def test_tar_member_with_absolute_path_is_refused_even_when_not_selected(tmp_path):
  path = _tar(tmp_path / 'a.tar.gz', [('/etc/cron.d/x', b'1')])
  with pytest.raises(archives.UnsafeArchiveError, match='absolute'):
    list(archives.iter_archive(path, select=lambda name: False))


def test_tar_symlink_pointing_outside_is_refused(tmp_path):
  path = tmp_path / 'a.tar'
  with tarfile.open(path, 'w') as tar:
    link = tarfile.TarInfo('train/link.jpg')
    link.type, link.linkname = tarfile.SYMTYPE, '../../../etc/passwd'
    tar.addfile(link)
  with pytest.raises(archives.UnsafeArchiveError, match='link'):
    list(archives.iter_archive(path))


def test_zip_member_escaping_the_root_is_refused_before_anything_is_read(tmp_path):
  path = tmp_path / 'a.zip'
  with zipfile.ZipFile(path, 'w') as z:
    z.writestr('train2017.json', '{}')
    z.writestr('../evil.json', '{}')
  seen = []
  with pytest.raises(archives.UnsafeArchiveError):
    for name, _ in archives.iter_archive(path):
      seen.append(name)
  assert not seen


def test_listed_file_with_dotdot_is_refused_in_a_folder(tmp_path):
  (tmp_path / 'secret').write_text('x')
  (tmp_path / 'root').mkdir()
  with pytest.raises(archives.UnsafeArchiveError):
    list(archives.iter_files(tmp_path / 'root', ['../secret']))


def test_iter_files_reads_the_same_files_from_a_folder_and_its_archive(tmp_path):
  folder = tmp_path / 'iwildcam_v2.0'
  (folder / 'train').mkdir(parents=True)
  (folder / 'train' / 'a.jpg').write_bytes(b'A')
  (folder / 'train' / 'b.jpg').write_bytes(b'B')
  path = _tar(tmp_path / 'x.tar.gz', [('iwildcam_v2.0/train/a.jpg', b'A'),
                                      ('iwildcam_v2.0/train/b.jpg', b'B')])
  wanted = ['train/a.jpg', 'train/missing.jpg']
  from_folder = dict(archives.iter_files(folder, wanted))
  from_archive = dict(archives.iter_files(path, wanted, strip_prefix='iwildcam_v2.0/'))
  assert from_folder == from_archive == {'train/a.jpg': b'A', 'train/missing.jpg': None}


def test_missing_manual_files_message_names_every_missing_file_once(tmp_path):
  (tmp_path / 'val').mkdir()
  with pytest.raises(archives.MissingManualFileError) as info:
    archives.require_manual_files(tmp_path, [('train', 'train.tar.gz'), ('val', 'val.tar.gz'),
                                             ('train.json',), ('train', 'train.tar.gz')],
                                  dataset='demo', source='https://example.org/demo')
  assert str(info.value) == (
      f'demo: manual download missing: put train or train.tar.gz; train.json into the '
      f'manual dir {tmp_path} (get them from https://example.org/demo), then rerun with '
      f'--manual_dir={tmp_path}.')


def test_truncated_jpeg_is_rejected_and_a_complete_one_passes_unchanged():
  data = jpeg(64, 48)
  assert images.checked_image(data) is data
  with pytest.raises(images.CorruptImageError, match='(?i)truncated'):
    images.checked_image(truncated_jpeg())
  with pytest.raises(images.CorruptImageError):
    images.checked_image(b'not an image')
  with pytest.raises(images.CorruptImageError, match='missing'):
    images.checked_image(None)


def test_resize_to_jpeg_gives_a_square_rgb_jpeg_also_from_grayscale():
  out = images.resize_to_jpeg(jpeg(120, 90, mode='L'), (448, 448))
  image = Image.open(io.BytesIO(out))
  assert (image.format, image.mode, image.size) == ('JPEG', 'RGB', (448, 448))


def test_record_skipped_lists_and_counts_in_the_metadata():
  metadata = {}
  images.record_skipped(metadata, 'train', 'train/a.jpg', 'truncated')
  images.record_skipped(metadata, 'val', 'train/b.jpg', 'missing')
  assert metadata == {
      'skipped_images': [{'split': 'train', 'file': 'train/a.jpg', 'reason': 'truncated'},
                         {'split': 'val', 'file': 'train/b.jpg', 'reason': 'missing'}],
      'num_skipped_images': 2}


def _iwildcam_with_link(tmp_path, name: str) -> pathlib.Path:
  """An iWildCam manual dir whose `iwildcam_v2.0/<name>` links to a copy outside it."""
  manual = tmp_path / 'manual'
  folder = write_iwildcam_folder(manual)
  outside = tmp_path / 'outside'
  outside.mkdir()
  (folder / name).rename(outside / 'target')
  (folder / name).symlink_to(outside / 'target')
  return manual


@pytest.mark.parametrize('name', ['metadata.csv', f'train/{iwildcam_filename(0)}'])
def test_a_link_out_of_an_extracted_manual_folder_is_refused_naming_it(name, tmp_path):
  manual = _iwildcam_with_link(tmp_path, name)
  with pytest.raises(archives.UnsafeArchiveError,
                     match=f'iwildcam_v2.0/{name} resolves to .*outside.*refusing it'):
    build_dataset('iwildcam', manual, tmp_path / 'data')


def test_a_linked_manual_folder_and_links_inside_it_are_read(tmp_path):
  real = tmp_path / 'disk' / 'download'
  (real / 'images').mkdir(parents=True)
  (real / 'images' / 'a.jpg').write_bytes(b'a')
  (real / 'b.jpg').symlink_to(real / 'images' / 'a.jpg')
  (tmp_path / 'manual').mkdir()
  (tmp_path / 'manual' / 'download').symlink_to(real)
  assert dict(archives.iter_files(tmp_path / 'manual' / 'download', ['images/a.jpg', 'b.jpg'])
              ) == {'images/a.jpg': b'a', 'b.jpg': b'a'}
