"""Sharded evaluation: every example of a split scored exactly once, on any device count.

The last partial global batch is padded; padding carries `mask=False` and is dropped,
and outputs are put back in split order by each example's index.
"""
from collections.abc import Callable, Mapping
import dataclasses
from typing import Any

from absl import logging
from etils import epath
import jax
from jax.experimental import multihost_utils
from jax.sharding import Mesh
import numpy as np

from jaxrobust.input import decoded_cache
from jaxrobust.input import pipeline
from jaxrobust.input.preprocess import EvalPreprocess
from jaxrobust.train import mesh as mesh_lib
from jaxrobust import metrics

EvalStep = Callable[[Any, Any, dict[str, jax.Array]], dict[str, jax.Array]]


@dataclasses.dataclass(frozen=True)
class Evaluation:
  """The model of a run evaluated after `step`, as the engine hands it to `on_evaluation`."""
  run_dir: epath.Path
  step: int
  num_steps: int
  steps_per_epoch: int
  scores: dict[str, dict[str, float]]             # {split: {accuracy, macro_f1, num_examples}}
  outputs: dict[str, dict[str, np.ndarray]]       # {split: {labels, predictions[, logits]}}
  wall_seconds: float                             # of this engine call so far

  @property
  def final(self) -> bool:
    """True for the model at the end of training."""
    return self.step == self.num_steps


OnEvaluation = Callable[[Evaluation], None]


def _gather(outputs: dict[str, jax.Array]) -> dict[str, np.ndarray]:
  return {k: np.asarray(v) for k, v in
          multihost_utils.process_allgather(outputs, tiled=True).items()}


def _in_split_order(chunks: list[dict[str, np.ndarray]], num_examples: int
                    ) -> dict[str, np.ndarray]:
  merged = {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}
  valid = merged.pop('mask')
  merged = {k: v[valid] for k, v in merged.items()}
  index = merged.pop('index')
  if np.unique(index).size != index.size:
    raise RuntimeError('Evaluation scored an example twice (a bug in the input pipeline).')
  if index.size < num_examples:  # undecodable images, logged by the preprocessing
    logging.warning('Evaluation skipped %d of %d images that could not be decoded.',
                    num_examples - index.size, num_examples)
  order = np.argsort(index)
  return {k: v[order] for k, v in merged.items()}


def evaluate_split(eval_step: EvalStep, params, batch_stats, source: Any,
                   transform: EvalPreprocess, *, mesh: Mesh, batch_size: int,
                   num_workers: int = 0, prefetch: int = 2) -> dict[str, np.ndarray]:
  """`labels`, `predictions` (and `logits` if the step returns them) for one split.

  Arrays are in split order and identical on every process.
  """
  batch_size = -(-batch_size // mesh.size) * mesh.size  # a whole number per device
  ds = pipeline.eval_dataset(source, transform, global_batch_size=batch_size)
  iterate = lambda: pipeline.make_iterator(ds, num_workers=num_workers, prefetch=prefetch)
  if isinstance(source, decoded_cache.DecodedSplit):  # the same batches at every evaluation
    key = ('eval_batches', transform, batch_size, jax.process_index(), jax.process_count())
    batches = source.memo(key, lambda: list(iterate()))
  else:
    batches = iterate()
  sharding = mesh_lib.batch_sharding(mesh)
  chunks, pending = [], None
  for local_batch in batches:
    outputs = eval_step(params, batch_stats, pipeline.global_batch(local_batch, sharding))
    if pending is not None:  # fetch the previous batch while this one computes
      chunks.append(_gather(pending))
    pending = outputs
  if pending is not None:
    chunks.append(_gather(pending))
  return _in_split_order(chunks, len(source))


def evaluate(eval_step: EvalStep, params, batch_stats, sources: Mapping[str, Any],
             transform: EvalPreprocess, *, mesh: Mesh, batch_size: int,
             num_workers: int = 0, prefetch: int = 2
             ) -> dict[str, dict[str, np.ndarray]]:
  """{split: {'labels', 'predictions'[, 'logits']}} for every split in `sources`."""
  return {split: evaluate_split(eval_step, params, batch_stats, source, transform,
                                mesh=mesh, batch_size=batch_size,
                                num_workers=num_workers, prefetch=prefetch)
          for split, source in sources.items()}


def scores(outputs: Mapping[str, Mapping[str, np.ndarray]]) -> dict[str, dict[str, float]]:
  """{split: {'accuracy', 'macro_f1', 'num_examples'}} from `evaluate`'s outputs."""
  return {split: metrics.classification_scores(out['labels'], out['predictions'])
          for split, out in outputs.items()}
