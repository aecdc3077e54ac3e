"""Damaged records: skipped and counted in training, fatal in evaluation, found by verify."""
import logging
import subprocess
import sys

import pytest

from jaxrobust.input import records
from jaxrobust.study import stages
from jaxrobust.train import writers
from tests.helpers.configs import REPO
from tests.helpers.engine import damaged_dataset_copy, only_run_dir, tiny_config

EPOCHS = 4  # the tiny run: 24 steps of 16 over 96 training images


def test_a_corrupt_training_record_is_skipped_counted_and_named_and_the_run_finishes(
    data_dir, tmp_path, caplog):
  shard = damaged_dataset_copy(data_dir, tmp_path / 'data', 'train')
  with caplog.at_level(logging.WARNING):
    result = stages.execute_single(tiny_config(tmp_path / 'data'), tmp_path / 'work')
  assert result.step == 24
  warnings = [r.getMessage() for r in caplog.records if 'is damaged' in r.getMessage()]
  assert len(warnings) == 1, warnings
  assert str(shard) in warnings[0] and '1 of its 96 records cannot be read' in warnings[0]
  assert 'tiny_images/1.0.0 train' in warnings[0]
  history = writers.read_metrics(only_run_dir(tmp_path / 'work') / writers.METRICS_FILE)
  assert sum(r.get('train/skipped_images', 0) for r in history) == EPOCHS


def test_a_corrupt_evaluation_record_stops_the_run_naming_the_file(data_dir, tmp_path):
  shard = damaged_dataset_copy(data_dir, tmp_path / 'data', 'test')
  with pytest.raises(records.CorruptRecordError, match=f'Cannot read record [0-9]+ of {shard} '
                     r'\(tiny_images/1.0.0 test\).*never changed silently'):
    stages.execute_single(tiny_config(tmp_path / 'data', num_train_steps=4), tmp_path / 'work')


def _verify(data_dir) -> subprocess.CompletedProcess:
  return subprocess.run([sys.executable, '-m', 'jaxrobust.datasets', 'verify', 'tiny_images',
                         f'--data_dir={data_dir}'], cwd=REPO, capture_output=True, text=True,
                        timeout=120)


def test_verify_names_every_damaged_file_and_its_records(data_dir, tmp_path):
  intact = _verify(data_dir)
  assert intact.returncode == 0 and 'all 133 records of 2 splits read back' in intact.stdout
  shard = damaged_dataset_copy(data_dir, tmp_path / 'data', 'train', fraction=0.2)
  damaged = _verify(tmp_path / 'data')
  assert damaged.returncode == 1
  (line,) = [l for l in damaged.stdout.splitlines() if str(shard) in l]
  assert line.startswith(f'train: {shard}: ') and ' of 96 records cannot be read' in line
  assert damaged.stderr.strip().splitlines()[-1].startswith('error: tiny_images in ')
