"""Decoded splits in memory: the same batches as decoding every time, each record decoded once."""
import io

import numpy as np
from PIL import Image
import pytest

from jaxrobust.input import decoded_cache
from jaxrobust.input import pipeline
from jaxrobust.input import preprocess


class CountingSource:
  """Records of random 20x20 JPEGs (one undecodable); counts the reads of each record."""

  def __init__(self, num_records: int = 24):
    rng = np.random.default_rng(0)
    self.records, self.reads = [], np.zeros(num_records, int)
    for i in range(num_records):
      buffer = io.BytesIO()
      Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(buffer, 'JPEG')
      self.records.append({'image': b'broken' if i == 5 else buffer.getvalue(), 'label': i % 3})

  def __len__(self) -> int:
    return len(self.records)

  def __getitem__(self, index: int):
    self.reads[index] += 1
    return dict(self.records[index])


def _in_order(ds) -> list[dict[str, np.ndarray]]:
  return [ds[i] for i in range(len(ds))]  # no read-ahead threads: reads can be counted


def _train_batches(source, transform) -> list[dict[str, np.ndarray]]:
  return _in_order(pipeline.train_dataset(source, transform, seed=3, global_batch_size=8,
                                          num_steps=9))


@pytest.fixture
def splits() -> decoded_cache.DecodedSplits:
  return decoded_cache.DecodedSplits()


def test_cached_training_batches_equal_decoding_every_epoch_flips_included(splits):
  transform = preprocess.TrainPreprocess(image_size=16, mode='resize', flip=True)
  plain, source = CountingSource(), CountingSource()
  cached = splits.get(source, transform, ('d', 'train'), budget_mb=1)
  assert isinstance(cached, decoded_cache.DecodedSplit)
  expected, got = _train_batches(plain, transform), _train_batches(cached, transform)
  for a, b in zip(expected, got, strict=True):  # 3 epochs of 24 records
    for key in ('image', 'label', 'mask'):
      np.testing.assert_array_equal(a[key], b[key])
  assert sum((~b['mask']).sum() for b in got) == 3  # the broken record, once an epoch
  assert plain.reads.tolist() == [3] * 24 and source.reads.tolist() == [1] * 24


def test_cached_evaluation_batches_equal_decoding_and_runs_share_the_split(splits):
  transform = preprocess.EvalPreprocess(image_size=16, mode='resize_center_crop')
  source = CountingSource()
  first = splits.get(source, transform, ('d', 'test'), budget_mb=1)
  for _ in range(2):  # two evaluations, the second one through a later run's lookup
    split = splits.get(CountingSource(), transform, ('d', 'test'), budget_mb=1)
    assert split is first
    expected = _in_order(pipeline.eval_dataset(CountingSource(), transform,
                                               global_batch_size=10))
    got = _in_order(pipeline.eval_dataset(split, transform, global_batch_size=10))
    for a, b in zip(expected, got, strict=True):
      for key in ('image', 'label', 'mask', 'index'):
        np.testing.assert_array_equal(a[key], b[key])
  assert source.reads.tolist() == [1] * 24


def test_random_crops_and_splits_over_budget_are_read_as_before(splits):
  source = CountingSource()
  rrc = preprocess.TrainPreprocess(image_size=16, mode='random_resized_crop')
  assert splits.get(source, rrc, ('d', 'train'), budget_mb=1) is source
  resize = preprocess.TrainPreprocess(image_size=16, mode='resize')
  too_small = decoded_cache.decoded_bytes(24, 16) / 2**20 / 2
  assert splits.get(source, resize, ('d', 'train'), budget_mb=too_small) is source
  assert splits.get(source, resize, ('d', 'train'), budget_mb=0) is source


def test_the_least_recently_used_split_makes_room(splits):
  transform = preprocess.EvalPreprocess(image_size=16)
  # Room for two eval splits, each counted twice (its images and its batches).
  budget = 2 * 2.5 * decoded_cache.decoded_bytes(24, 16) / 2**20
  a, b = (splits.get(CountingSource(), transform, ('d', s), budget) for s in 'ab')
  assert splits.get(CountingSource(), transform, ('d', 'a'), budget) is a  # a: recent
  splits.get(CountingSource(), transform, ('d', 'c'), budget)  # drops b
  assert splits.get(CountingSource(), transform, ('d', 'a'), budget) is a
  assert splits.get(CountingSource(), transform, ('d', 'b'), budget) is not b
