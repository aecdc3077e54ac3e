"""`iwildcam` built from a WILDS v2.0 folder / archive in the exact on-disk format."""
import collections
import io
import tarfile

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from jaxrobust import errors
from jaxrobust.datasets import archives
from jaxrobust.study import results
from tests.helpers.configs import load_config
from tests.helpers.real_formats import (IWILDCAM_ROWS, IWILDCAM_TRUNCATED, add_tar_bytes, build_dataset,
                          iwildcam_category_name, iwildcam_filename, jpeg,
                          write_iwildcam_folder)

SPLITS = ('train', 'id_val', 'id_test', 'val', 'test')


def _expected_rows(split):
  """(filename, y, location_remapped, sequence_remapped) of the usable fixture rows."""
  return sorted((iwildcam_filename(i), y, loc, seq)
                for i, (s, loc, _, seq, _, y, _) in enumerate(IWILDCAM_ROWS)
                if s == split and i != IWILDCAM_TRUNCATED)


@pytest.fixture(scope='module')
def built_448(iwildcam_manual, tmp_path_factory):
  data_dir = tmp_path_factory.mktemp('iwildcam_data')
  return build_dataset('iwildcam', iwildcam_manual, data_dir), data_dir


def _records(data_dir, split, config='448', **kwargs):
  source = tfds.data_source(f'iwildcam/{config}', data_dir=str(data_dir), split=split,
                            **kwargs)
  return [source[i] for i in range(len(source))]


def test_split_sizes_follow_the_split_column_minus_the_truncated_image(built_448):
  builder, _ = built_448
  counts = collections.Counter(row[0] for row in IWILDCAM_ROWS)
  counts['train'] -= 1  # The truncated JPEG.
  assert {s: builder.info.splits[s].num_examples for s in SPLITS} == {
      s: counts[s] for s in SPLITS}


def test_labels_locations_and_sequences_come_from_metadata_csv(built_448):
  _, data_dir = built_448
  for split in SPLITS:
    got = sorted((r['filename'].decode(), int(r['label']), int(r['location']),
                  int(r['sequence'])) for r in _records(data_dir, split))
    assert got == _expected_rows(split), split


def test_datetime_and_image_id_are_kept(built_448):
  _, data_dir = built_448
  record = _records(data_dir, 'val')[0]
  assert record['datetime'].decode() == '2013-06-18 16:14:08.000'
  assert record['image_id'].decode() == iwildcam_filename(8)[:-4]


def test_class_names_come_from_categories_csv_without_the_99999_rows(built_448):
  builder, _ = built_448
  names = builder.info.features['label'].names
  assert len(names) == 182
  assert names[0] == 'empty' and names[181] == iwildcam_category_name(181)
  assert not any(n.startswith('unused') for n in names)


def test_default_config_stores_448_jpegs_that_decode(built_448):
  _, data_dir = built_448
  records = _records(data_dir, 'train', decoders={'image': tfds.decode.SkipDecoding()})
  for record in records:
    image = Image.open(io.BytesIO(record['image']))
    assert (image.format, image.size, image.mode) == ('JPEG', (448, 448), 'RGB')


def test_truncated_jpeg_is_skipped_counted_and_listed_in_metadata(built_448):
  builder, data_dir = built_448
  reloaded = tfds.builder('iwildcam', data_dir=str(data_dir))
  for info in (builder.info, reloaded.info):
    assert info.metadata['num_skipped_images'] == 1
    (skipped,) = info.metadata['skipped_images']
    assert skipped['split'] == 'train'
    assert skipped['file'] == f'train/{iwildcam_filename(IWILDCAM_TRUNCATED)}'
    assert 'runcated' in skipped['reason']


TEST_ROW = 2  # a row of split `test`


def test_an_unreadable_test_image_stops_the_build_unless_the_user_opts_in(tmp_path):
  assert IWILDCAM_ROWS[TEST_ROW][0] == 'test'
  write_iwildcam_folder(tmp_path / 'manual', truncated=TEST_ROW)
  name = f'train/{iwildcam_filename(TEST_ROW)}'
  with pytest.raises(errors.UserError, match=(
      f'(?s)iwildcam/448: 1 unreadable image.*split test: {name}.*'
      'iwildcam/448/skip_unreadable_eval_images=True')):
    build_dataset('iwildcam', tmp_path / 'manual', tmp_path / 'refused')
  opt_in = 'iwildcam/448/skip_unreadable_eval_images=True'
  build_dataset(opt_in, tmp_path / 'manual', tmp_path / 'data')
  config = load_config('finetune')
  config.data.name, config.data.data_dir = opt_in, str(tmp_path / 'data')
  assert results.skipped_eval_images(config) == {'test': [name]}  # goes into every result.json
  test_rows = [r for r in IWILDCAM_ROWS if r[0] == 'test']
  assert len(_records(tmp_path / 'data', 'test', config='448/skip_unreadable_eval_images=True')
             ) == len(test_rows) - 1


def test_original_config_from_the_archive_keeps_downloaded_bytes(iwildcam_archive_manual,
                                                                iwildcam_manual, tmp_path):
  build_dataset('iwildcam/original', iwildcam_archive_manual, tmp_path)
  for split in SPLITS:
    records = _records(tmp_path, split, config='original',
                       decoders={'image': tfds.decode.SkipDecoding()})
    assert len(records) == len(_expected_rows(split))
    for record in records:
      name = record['filename'].decode()
      original = (iwildcam_manual / 'iwildcam_v2.0' / 'train' / name).read_bytes()
      assert record['image'] == original
  decoded = _records(tmp_path, 'id_val', config='original')[0]['image']
  assert decoded.shape[:2] == (40, 61) and np.asarray(decoded).dtype == np.uint8


def test_missing_download_names_files_manual_dir_and_source(tmp_path):
  manual = tmp_path / 'manual'
  with pytest.raises(archives.MissingManualFileError) as info:
    build_dataset('iwildcam', manual, tmp_path / 'data')
  message = str(info.value)
  assert 'iwildcam_v2.0.tar.gz' in message and 'iwildcam_v2.0' in message
  assert str(manual) in message and 'wilds.stanford.edu' in message
  assert '\n' not in message


def test_archive_with_a_path_traversal_member_is_refused(tmp_path):
  manual = tmp_path / 'manual'
  manual.mkdir()
  with tarfile.open(manual / 'iwildcam_v2.0.tar.gz', 'w:gz') as tar:
    add_tar_bytes(tar, 'iwildcam_v2.0/../../evil.jpg', jpeg())
    add_tar_bytes(tar, 'iwildcam_v2.0/metadata.csv', b'')
  with pytest.raises(archives.UnsafeArchiveError, match='leaves the archive root'):
    build_dataset('iwildcam', manual, tmp_path / 'data')
