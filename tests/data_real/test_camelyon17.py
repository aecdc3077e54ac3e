"""`camelyon17` built from a WILDS v1.0 folder / archive in the exact on-disk format, and the
quantity study fine-tuned on it (configs/quantity.py:camelyon), declared through config.benchmark."""
import collections
import io
import os
import shutil

import pytest
import tensorflow_datasets as tfds
from PIL import Image

from jaxrobust import errors
from jaxrobust.datasets import archives
from jaxrobust.study import plan_study, run_study
from tests.helpers.configs import load_config
from tests.helpers.real_formats import (CAMELYON_ROWS, CAMELYON_SPLITS, CAMELYON_TRUNCATED,
                                        build_dataset, camelyon_patch, tar_folder,
                                        write_camelyon_folder)

SPLITS = ('train', 'id_val', 'val', 'test')


@pytest.fixture(scope='module')
def built(tmp_path_factory):
  manual = tmp_path_factory.mktemp('camelyon_manual')
  write_camelyon_folder(manual)
  data_dir = tmp_path_factory.mktemp('camelyon_data')
  return build_dataset('camelyon17', manual, data_dir), data_dir, manual


def _records(data_dir, split):
  source = tfds.data_source('camelyon17/patches', data_dir=str(data_dir), split=split,
                            decoders={'image': tfds.decode.SkipDecoding()})
  return [source[i] for i in range(len(source))]


def _expected(split):
  """(file, tumor, hospital, slide) of the usable fixture rows of `split`."""
  return sorted((camelyon_patch(p, n, x, y), tumor, center, slide)
                for i, ((p, n, x, y, tumor, slide, center, _), s)
                in enumerate(zip(CAMELYON_ROWS, CAMELYON_SPLITS))
                if s == split and i != CAMELYON_TRUNCATED)


def test_splits_follow_wilds_hospitals_and_the_split_column(built):
  builder, data_dir, _ = built
  assert sorted(builder.info.splits) == sorted(SPLITS)
  for split in SPLITS:
    got = sorted((r['filename'].decode(), int(r['label']), int(r['hospital']), int(r['slide']))
                 for r in _records(data_dir, split))
    assert got == _expected(split), split
  assert {int(r['hospital']) for r in _records(data_dir, 'val')} == {1}
  assert {int(r['hospital']) for r in _records(data_dir, 'test')} == {2}
  assert builder.info.features['label'].names == ['normal', 'tumor']


def test_patches_are_the_downloaded_png_bytes(built):
  _, data_dir, manual = built
  for record in _records(data_dir, 'test'):
    name = record['filename'].decode()
    assert record['image'] == (manual / 'camelyon17_v1.0' / name).read_bytes()
    assert Image.open(io.BytesIO(record['image'])).size == (96, 96)


def test_a_truncated_training_patch_is_skipped_and_listed(built):
  builder, _, _ = built
  p, n, x, y = CAMELYON_ROWS[CAMELYON_TRUNCATED][:4]
  skipped = builder.info.metadata['skipped_images']
  assert [(s['split'], s['file']) for s in skipped] == [('train', camelyon_patch(p, n, x, y))]
  counts = collections.Counter(CAMELYON_SPLITS)
  assert builder.info.splits['train'].num_examples == counts['train'] - 1


def test_the_archive_builds_the_same_records(built, tmp_path):
  _, data_dir, manual = built
  archive_manual = tmp_path / 'manual'
  archive_manual.mkdir()
  tar_folder(manual / 'camelyon17_v1.0', archive_manual / 'camelyon17_v1.0.tar.gz')
  build_dataset('camelyon17', archive_manual, tmp_path / 'data')
  for split in SPLITS:
    assert ([r['image'] for r in _records(tmp_path / 'data', split)]
            == [r['image'] for r in _records(data_dir, split)])


def test_an_unreadable_ood_patch_stops_the_build(tmp_path):
  test_row = CAMELYON_SPLITS.index('test')
  write_camelyon_folder(tmp_path / 'manual', truncated=test_row)
  with pytest.raises(errors.UserError, match=r'1 unreadable image\(s\) in evaluation split '
                     r'test: .*camelyon17/patches/skip_unreadable_eval_images=True'):
    build_dataset('camelyon17', tmp_path / 'manual', tmp_path / 'data')


def test_a_missing_download_names_the_files_and_the_source(tmp_path):
  with pytest.raises(archives.MissingManualFileError,
                     match=r'camelyon17: manual download missing: put camelyon17_v1\.0 or '
                     r'camelyon17_v1\.0\.tar\.gz into the manual dir .*wilds'):
    build_dataset('camelyon17', tmp_path, tmp_path / 'data')


def test_the_camelyon_quantity_study_plans_on_the_declared_benchmark(built, tmp_path, capsys):
  _, data_dir, _ = built
  config = load_config('quantity', 'camelyon')
  config.data_dir = str(tmp_path / 'data')
  shutil.copytree(os.path.join(data_dir, 'camelyon17'), tmp_path / 'data' / 'camelyon17')
  plan = plan_study(config)
  iwildcam_pretrains = [r.run_id for r in plan_study(load_config('quantity'))
                        if r.kind == 'pretrain']
  assert [r.run_id for r in plan if r.kind == 'pretrain'] == iwildcam_pretrains  # shared
  finetunes = [r for r in plan if r.kind != 'pretrain']
  assert {r.dataset for r in finetunes} == {'camelyon17/patches'}
  data = finetunes[0].config.data
  assert (data.eval_splits, data.selection_splits, data.id_split, data.ood_split) == (
      ('id_val', 'val', 'test'), ('id_val', 'val'), 'id_val', 'test')
  assert finetunes[0].train_examples == collections.Counter(CAMELYON_SPLITS)['train'] - 1
  run_study(config, str(tmp_path / 'w'), dry_run=True)
  out = capsys.readouterr().out
  assert "Study 'quantity_camelyon'" in out
  assert 'camelyon17/patches' in out and 'MISSING manual data for camelyon17' not in out
