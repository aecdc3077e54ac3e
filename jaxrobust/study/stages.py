"""What every executor does, in-process or in a Ray task: prepare the data, execute one run.

The local executor calls these in the study's process; the Ray executor calls the same
functions inside its tasks (jaxrobust.study.ray_executor), so both write the same files.
`enter_run` is the one place where a config becomes a run, for studies and single runs alike:
the config is checked, the run directory made absolute and config.json written, before the
engine (which trusts its caller) starts.
"""
from collections.abc import Callable
import contextlib
import dataclasses
import functools
import json
import os
import sys
import time
from typing import Any

from absl import logging
from etils import epath
import ml_collections

from jaxrobust import errors
from jaxrobust import runs
from jaxrobust import user_modules
from jaxrobust.datasets import build
from jaxrobust.datasets import sizes
from jaxrobust.study import benchmark
from jaxrobust.study import datasets as datasets_lib
from jaxrobust.study import plan as plan_lib
from jaxrobust.study import state as state_lib
from jaxrobust.study import workdir_lock
from jaxrobust.study.plan import PlannedRun
from jaxrobust.study.progress import format_seconds
from jaxrobust.train.result import RunResult

TrainFn = Callable[[ml_collections.ConfigDict, epath.Path], RunResult]


@dataclasses.dataclass(frozen=True)
class RunOutcome:
  """How one execution of a planned run went."""
  seconds: float
  resumed_at: int | None  # the checkpoint step it resumed from; None: it started at step 0
  summary: str = ''       # what it scored, for the console: ID / OOD, or the train loss

  def line(self, run_id: str, where: str = '') -> str:
    """'study: finished <run id>[ on <where>] in 12s: ID id_test macro-F1 0.812, ...'."""
    at = f' on {where}' if where else ''
    summary = f': {self.summary}' if self.summary else ''
    return f'study: finished {run_id}{at} in {format_seconds(self.seconds)}{summary}'


def _summary(run: PlannedRun, run_dir: str, result: RunResult) -> str:
  """ID and OOD macro-F1 of the selected model (finetune, scratch), else the train loss."""
  path = os.path.join(run_dir, plan_lib.RESULT_FILE)
  if run.kind in plan_lib.RESULT_KINDS and os.path.exists(path):
    with open(path) as f:
      metrics = json.load(f)['metrics']
    return ', '.join(f'{role.upper()} {m["split"]} macro-F1 {m["macro_f1"]:.3f}'
                     for role, m in ((r, metrics[r]) for r in ('id', 'ood')))
  return '' if result.train_loss is None else f'train loss {result.train_loss:.3f}'


def prepare_data(needs: list[dict[str, Any]], data_dir: str) -> None:
  """Builds the generated datasets and materializes the subsets that are not there yet."""
  statuses = [datasets_lib.dataset_status(n, data_dir) for n in needs]
  missing = [s.name for s in statuses if s.state == 'missing']
  if missing:
    note = sizes.space_note(missing)
    raise errors.DatasetNotBuiltError(
        f'{", ".join(missing)} not prepared in {data_dir}: put the manual downloads in a folder '
        f'(--dry_run says which files), run python -m jaxrobust.study prepare --config=<this '
        f'study config> --data_dir={data_dir} --manual_dir=<that folder>, then rerun.'
        + (f' {note}' if note else ''))
  todo = [n for n, s in zip(needs, statuses) if s.state != 'ready']
  if todo and is_chief():
    print(f'study: preparing {len(todo)} datasets in {data_dir}', flush=True)
    print(build.summary_table(build.build_datasets(todo, data_dir)), flush=True)


def use_engine(workdir: str | None = None):
  """Imports the engine (jax): jaxrobust.study.execute; a study's compilations are cached in
  its DIR/cache/jax (`workdir`), shared by its runs."""
  from jaxrobust.study import execute  # pylint: disable=g-import-not-at-top  (jax)
  if workdir is not None:
    execute.share_compilations(workdir)
  return execute


def train_fn_for(config: ml_collections.ConfigDict, run: PlannedRun, workdir: str,
                 train_fn: TrainFn | None = None, cache=None) -> TrainFn:
  """`train_fn` (a test's stand-in, so jax is never loaded) or the engine for `run` of `config`.

  `cache`: the engine cache the runs of this process share (None: a fresh one per run).
  """
  if train_fn is not None:
    return train_fn
  return functools.partial(use_engine(workdir).train, study=config.study,
                           config_hash=run.identity_hash, rule=config.selection, cache=cache)


def enter_run(config: ml_collections.ConfigDict, run_dir: str) -> epath.Path:
  """Checks `config`, builds its generated data, writes config.json; returns the absolute run dir.

  The run's `imports` (the user's dataset modules) are imported first, in whatever process
  runs it; nothing is written before the config and the benchmark's splits are checked.
  """
  user_modules.load(config.get('imports'))
  runs.check_run_config(config)
  return _enter_checked(config, run_dir)


def _enter_checked(config: ml_collections.ConfigDict, run_dir: str) -> epath.Path:
  """`enter_run` for a config whose fields, values and model were checked already."""
  run_dir = runs.absolute_path(run_dir)
  if config.data.auto_prepare:
    build.generate_if_missing(config.data.name, config.data.data_dir)
  if config.kind in plan_lib.RESULT_KINDS:
    available = datasets_lib.split_names(
        config.data.name, datasets_lib.study_data_dir(config.data.data_dir))
    if available is not None:  # an unbuilt dataset: the engine's reader says how to build it
      benchmark.check_splits(config, available)
  if is_chief():
    runs.write_config(config, run_dir / runs.CONFIG_FILE)
  return run_dir


def execute_run(run: PlannedRun, workdir: str, train_fn: TrainFn) -> RunOutcome:
  """Trains and evaluates one run (resuming from its checkpoint), then marks it finished."""
  step = state_lib.checkpoint_step(run, workdir)
  if step:  # worth a line of its own; a fresh start shows under --verbosity=0
    print(f'study: resuming {run.run_id} at step {step} ({run.kind}, {run.dataset}, '
          f'{run.length})', flush=True)
  else:
    logging.info('study: starting %s (%s, %s, %s)', run.run_id, run.kind, run.dataset,
                 run.length)
  run_dir = enter_run(run.config, run.run_dir(workdir))
  start = time.time()
  outcome = train_fn(run.config, run_dir)
  seconds = time.time() - start
  if is_chief():  # only process 0 writes files
    if (run.kind in plan_lib.RESULT_KINDS
        and not os.path.exists(os.path.join(run_dir, plan_lib.RESULT_FILE))):
      raise RuntimeError(f'{run.run_id} finished without writing {run_dir}/result.json; the '
                         'fine-tune stage writes it at the end of every finetune/scratch run.')
    state_lib.mark_finished(run, workdir, seconds, outcome.summary())
  return RunOutcome(seconds=seconds, resumed_at=step or None,
                    summary=_summary(run, run_dir, outcome) if is_chief() else '')


def execute_single(config: ml_collections.ConfigDict, workdir: str, cache=None, *,
                   wait: bool = False) -> RunResult:
  """One run outside a study into `<workdir>/runs/<run_id>/` (result.json for finetune/scratch).

  The config is checked first; then the run holds the workdir's lock (`wait`: queue behind
  another holder). `cache`: an engine cache shared with other runs of this process (None: a
  fresh one).
  """
  user_modules.load(config.get('imports'))
  runs.check_run_config(config)  # before anything is written, the lock included
  with workdir_held(str(runs.absolute_path(workdir)), wait=wait):
    run_dir = _enter_checked(
        config, os.path.join(workdir, 'runs', runs.run_id(config.name, config)))
    logging.info('Run directory: %s', run_dir)
    return use_engine().train(config, run_dir, cache=cache)


@contextlib.contextmanager
def workdir_held(workdir: str, *, wait: bool = False):
  """Process 0 holds the workdir's lock (jaxrobust.study.workdir_lock); the others wait for it."""
  with workdir_lock.held(workdir, wait=wait) if is_chief() else contextlib.nullcontext():
    jax = sys.modules.get('jax')
    if jax is not None and jax.process_count() > 1:  # every host reads the workdir after that
      use_engine().barrier('jaxrobust_workdir_lock')
    yield


def is_chief() -> bool:
  """True on the process that writes study files: process 0 (always, before jax is imported)."""
  jax = sys.modules.get('jax')  # dry runs and injected engines may never import it
  return jax is None or jax.process_index() == 0
