"""Model selection during training: which splits are scored when, and which evaluation is best.

With `config.data.selection_splits` (e.g. WILDS' OOD validation split), an evaluation during
training scores only those, plus the other eval splits when one of them reaches a new best
macro-F1 (a candidate for model selection). The final evaluation scores every eval split.
"""
from collections.abc import Mapping
import time
from typing import Any

from absl import logging
from etils import epath
import jax
from jax.sharding import Mesh
import ml_collections

from jaxrobust.errors import ConfigError
from jaxrobust.input.preprocess import EvalPreprocess
from jaxrobust.train import evaluate as evaluate_lib


def selection_splits(config: ml_collections.ConfigDict) -> tuple[str, ...]:
  """`config.data.selection_splits`, checked to be among the eval splits."""
  splits = tuple(config.data.selection_splits)
  unknown = [s for s in splits if s not in config.data.eval_splits]
  if unknown:
    raise ConfigError(f'config.data.selection_splits={list(splits)} names {unknown}, which '
                      f'config.data.eval_splits={list(config.data.eval_splits)} lacks; add '
                      f'them there or drop them.')
  return splits


def _log_scores(step: int, scores: Mapping[str, Mapping[str, float]]) -> None:
  """One line per evaluation that scored a split: each split's macro-F1 and accuracy."""
  if not scores:
    return
  logging.info('eval @ step %d: %s', step, ' | '.join(
      f'{split} macro-F1 {s["macro_f1"]:.4f} acc {s["accuracy"]:.4f} ({s["num_examples"]})'
      for split, s in scores.items()))


class SelectionEvaluator:
  """Evaluates a run's model at a step, writes its scalars and hands it to `on_evaluation`."""

  def __init__(self, config: ml_collections.ConfigDict, *, eval_step: evaluate_lib.EvalStep,
               sources: Mapping[str, Any], transform: EvalPreprocess, mesh: Mesh, writer,
               run_dir: epath.Path, num_steps: int, steps_per_epoch: int,
               best: Mapping[str, float], start_time: float,
               on_evaluation: evaluate_lib.OnEvaluation | None):
    self._config, self._eval_step, self._sources = config, eval_step, dict(sources)
    self._transform, self._mesh, self._writer = transform, mesh, writer
    self._run_dir, self._num_steps, self._steps_per_epoch = run_dir, num_steps, steps_per_epoch
    self._selection = selection_splits(config)
    self._on_evaluation = on_evaluation
    self._start_time = start_time  # of the engine call: Evaluation.wall_seconds
    self.best = dict(best)  # best macro-F1 so far of each selection split (checkpointed)

  def _score(self, step: int, state, splits: list[str]) -> tuple[dict, dict]:
    """Scores `splits` at `step` and writes `eval/<split>/<metric>` scalars."""
    outputs = evaluate_lib.evaluate(
        self._eval_step, state['params'], state['batch_stats'],
        {s: self._sources[s] for s in splits}, self._transform, mesh=self._mesh,
        batch_size=self._config.eval_batch_size, num_workers=self._config.data.num_workers,
        prefetch=self._config.data.prefetch)
    scores = evaluate_lib.scores(outputs)
    self._writer.write_scalars(step, {f'eval/{split}/{name}': value
                                      for split, split_scores in scores.items()
                                      for name, value in split_scores.items()})
    return scores, outputs

  def _new_best(self, scores: Mapping[str, Mapping[str, float]]) -> bool:
    """Records `scores`' macro-F1 in `best`; True if any split beat its best so far."""
    improved = False
    for split, split_scores in scores.items():
      if split not in self.best or split_scores['macro_f1'] > self.best[split]:
        self.best[split] = split_scores['macro_f1']
        improved = True
    return improved

  def __call__(self, step: int, state) -> tuple[dict[str, Any], dict[str, Any]]:
    """(scores, outputs) of the model at `step`: every split, or the selection splits first."""
    if step == self._num_steps or not self._selection:
      scores, outputs = self._score(step, state, list(self._sources))
    else:
      scores, outputs = self._score(step, state, list(self._selection))
      if self._new_best(scores):
        rest = [s for s in self._sources if s not in self._selection]
        more_scores, more_outputs = self._score(step, state, rest)
        scores = {s: {**scores, **more_scores}[s] for s in self._sources}
        outputs = {s: {**outputs, **more_outputs}[s] for s in self._sources}
    _log_scores(step, scores)
    if self._on_evaluation is not None and jax.process_index() == 0:
      self._on_evaluation(evaluate_lib.Evaluation(
          run_dir=self._run_dir, step=step, num_steps=self._num_steps,
          steps_per_epoch=self._steps_per_epoch, scores=scores, outputs=outputs,
          wall_seconds=time.time() - self._start_time))
    return scores, outputs
