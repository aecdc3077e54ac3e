"""A planned run (or one run outside a study) through the engine, with its result.json.

The study's link to the training engine: it imports jax and the whole engine, so the runner
imports it only when it trains.
"""
import os
from typing import Any

import jax
from jax.experimental import multihost_utils
import ml_collections

from jaxrobust.study import results
from jaxrobust.study import selection
from jaxrobust.study.plan import RESULT_KINDS
from jaxrobust.train import loop
from jaxrobust.train.evaluate import OnEvaluation


def _writer(config: ml_collections.ConfigDict, study: str | None,
            config_hash: str | None, rule: str) -> OnEvaluation | None:
  if config.kind not in RESULT_KINDS:
    return None
  return results.result_writer(config, study=study, config_hash=config_hash, rule=rule)


def train_planned(config: ml_collections.ConfigDict, run_dir: str, *, study: str,
                  config_hash: str, rule: str = selection.DEFAULT_RULE) -> dict[str, Any]:
  """Trains and evaluates one run of study `study`; `config_hash` is its identity hash.

  `rule`: the study's model selection rule (jaxrobust.study.selection).
  """
  return loop.train_and_evaluate(config, run_dir,
                                 on_evaluation=_writer(config, study, config_hash, rule))


def run_single(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
  """One run outside a study into `<workdir>/runs/<run_id>/` (result.json for finetune/scratch)."""
  return loop.run_single(config, workdir, on_evaluation=_writer(
      config, None, None, selection.DEFAULT_RULE))


def share_compilations(workdir: str) -> None:
  """Caches compiled steps in DIR/cache/jax, unless the user set a JAX compilation cache.

  The runs of a study mostly share shapes (every fine-tune of one architecture, runs of one
  label space), so later runs skip most of XLA's compile time (half the wall time of the
  CPU-sized studies).
  """
  if jax.config.jax_compilation_cache_dir:
    return
  jax.config.update('jax_compilation_cache_dir', os.path.join(workdir, 'cache', 'jax'))
  jax.config.update('jax_persistent_cache_min_compile_time_secs', 0)


def barrier(name: str) -> None:
  """Waits for every process (a no-op with one)."""
  if jax.process_count() > 1:
    multihost_utils.sync_global_devices(name)
