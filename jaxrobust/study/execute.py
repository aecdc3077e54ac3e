"""A run through the engine with its result writer.

The study's link to the training engine: it imports jax and the whole engine, so the study
imports it only when it trains (jaxrobust.study.stages.use_engine).
"""
import os

from etils import epath
import jax
from jax.experimental import multihost_utils
import ml_collections

from jaxrobust.study import results
from jaxrobust.study import selection
from jaxrobust.study.plan import RESULT_KINDS
from jaxrobust.train import loop
from jaxrobust.train.engine_cache import EngineCache
from jaxrobust.train.result import RunResult


def train(config: ml_collections.ConfigDict, run_dir: epath.Path, *, study: str | None = None,
          config_hash: str | None = None, rule: str = selection.DEFAULT_RULE,
          cache: EngineCache | None = None) -> RunResult:
  """Trains and evaluates one run; finetune and scratch runs write result.json as they go.

  `study`: the study it belongs to (None: a run outside a study); `config_hash`: its identity
  hash; `rule`: the study's model selection rule (jaxrobust.study.selection); `cache`: what it
  may share with the earlier runs of this process.
  """
  on_evaluation = (results.result_writer(config, study=study, config_hash=config_hash,
                                         rule=rule)
                   if config.kind in RESULT_KINDS else None)
  return loop.train_and_evaluate(config, run_dir, on_evaluation=on_evaluation, cache=cache)


def new_cache() -> EngineCache:
  """A cache for the runs of one process to share (jaxrobust.train.engine_cache)."""
  return EngineCache()


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
