"""grain input pipelines over TFDS sources -> per-process batches -> global sharded arrays.

Global batch k holds the elements [k*B, (k+1)*B) of one seeded, per-epoch reshuffled
stream; process p reads the p-th slice of it. So the global batches (and every random
augmentation, seeded by element index) are the same for any number of processes and
devices, and a run resumes exactly from the batch position stored in the checkpoint.
"""
import dataclasses
import math
from typing import Any

from absl import flags
import grain
import jax
import numpy as np

from jaxrobust.input import preprocess


def _local_batch_size(global_batch_size: int) -> int:
  return global_batch_size // jax.process_count()


def _process_slice(batches: grain.MapDataset) -> grain.MapDataset:
  """This process's share of every global batch (consecutive local batches)."""
  return batches[jax.process_index()::jax.process_count()]


def train_dataset(source: Any, transform: preprocess.TrainPreprocess, *, seed: int,
                  global_batch_size: int, num_steps: int, start_batch: int = 0
                  ) -> grain.MapDataset:
  """Local batches `start_batch` .. `num_steps - 1` of seeded, shuffled, augmented examples."""
  epochs = math.ceil(num_steps * global_batch_size / len(source))
  ds = (grain.MapDataset.source(source).seed(seed).shuffle()
        .random_map(transform).repeat(epochs))
  ds = ds.batch(_local_batch_size(global_batch_size), drop_remainder=True)
  return _process_slice(ds)[start_batch:num_steps]


@dataclasses.dataclass(frozen=True)
class PaddedSource:
  """`source` followed by empty records up to `length` (padding of the last eval batch)."""
  source: Any
  length: int

  def __len__(self) -> int:
    return self.length

  def __getitem__(self, index: int):
    return self.source[index] if index < len(self.source) else {}


@dataclasses.dataclass(frozen=True)
class AddIndex(grain.experimental.MapWithIndexTransform):
  """Stores the element's position in the split, so outputs can be put back in order."""

  def map_with_index(self, index: int, element: dict) -> dict:
    return {**element, 'index': np.int32(index)}


def eval_dataset(source: Any, transform: preprocess.EvalPreprocess, *,
                 global_batch_size: int) -> grain.MapDataset:
  """Every example once, in order, padded to whole global batches (`mask` marks real ones)."""
  length = math.ceil(len(source) / global_batch_size) * global_batch_size
  ds = grain.MapDataset.source(PaddedSource(source, length)).map(transform)
  ds = ds.map_with_index(AddIndex()).batch(_local_batch_size(global_batch_size))
  return _process_slice(ds)


def make_iterator(ds: grain.MapDataset, *, num_workers: int, prefetch: int
                  ) -> grain.DatasetIterator:
  """An iterator over `ds` with `num_workers` processes (0: threads in this process)."""
  threads = max(prefetch, 1)
  iter_ds = ds.to_iter_dataset(grain.ReadOptions(num_threads=threads,
                                                 prefetch_buffer_size=prefetch))
  if num_workers > 0:
    if not flags.FLAGS.is_parsed():  # grain's workers read absl flags (defaults suffice)
      flags.FLAGS.mark_as_parsed()
    iter_ds = iter_ds.mp_prefetch(grain.MultiprocessingOptions(
        num_workers=num_workers, per_worker_buffer_size=max(prefetch, 1)))
  return iter(iter_ds)


def global_batch(local_batch: dict[str, np.ndarray], sharding: jax.sharding.Sharding
                 ) -> dict[str, jax.Array]:
  """Each process's rows -> one global array per feature, batch split over devices."""
  return jax.tree.map(
      lambda x: jax.make_array_from_process_local_data(sharding, x), local_batch)
