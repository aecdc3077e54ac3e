"""What every executor does, in-process or in a Ray task: prepare the data, execute one run.

The local executor calls these in the study's process; the Ray executor calls the same
functions inside its tasks (jaxrobust.study.ray_executor), so both write the same files.
"""
from collections.abc import Callable
import dataclasses
import functools
import os
import sys
import time
from typing import Any

import ml_collections

from jaxrobust import errors
from jaxrobust import runs
from jaxrobust.study import datasets as datasets_lib
from jaxrobust.study import plan as plan_lib
from jaxrobust.study import prepare as prepare_lib
from jaxrobust.study import state as state_lib
from jaxrobust.study.plan import PlannedRun

TrainFn = Callable[[ml_collections.ConfigDict, str], dict[str, Any]]
SUMMARY_KEYS = ('step', 'train_loss', 'scores', 'wall_seconds')  # of train_and_evaluate's return


@dataclasses.dataclass(frozen=True)
class RunOutcome:
  """How one execution of a planned run went."""
  seconds: float
  resumed_at: int | None  # the checkpoint step it resumed from; None: it started at step 0


def prepare(needs: list[dict[str, Any]], data_dir: str) -> None:
  """Builds the generated datasets and materializes the subsets that are not there yet."""
  statuses = [datasets_lib.dataset_status(n, data_dir) for n in needs]
  missing = [s.name for s in statuses if s.state == 'missing']
  if missing:
    raise errors.DatasetNotBuiltError(
        f'{", ".join(missing)} not prepared in {data_dir}: put the manual downloads in a folder '
        f'(--dry_run says which files), run python -m jaxrobust.data prepare --config=<this '
        f'study config> --data_dir={data_dir} --manual_dir=<that folder>, then rerun.')
  todo = [n for n, s in zip(needs, statuses) if s.state != 'ready']
  if todo and is_chief():
    print(f'study: preparing {len(todo)} datasets in {data_dir}', flush=True)
    print(prepare_lib.summary_table(prepare_lib.prepare_datasets(todo, data_dir)), flush=True)


def use_engine(workdir: str):
  """Imports the engine (jax): jaxrobust.study.execute, its compilations cached in DIR/cache/jax."""
  from jaxrobust.study import execute  # pylint: disable=g-import-not-at-top  (jax)
  execute.share_compilations(workdir)
  return execute


def train_fn_for(config: ml_collections.ConfigDict, run: PlannedRun, workdir: str,
                 train_fn: TrainFn | None = None) -> TrainFn:
  """`train_fn` (a test's stand-in, so jax is never loaded) or the engine for `run` of `config`."""
  if train_fn is not None:
    return train_fn
  return functools.partial(use_engine(workdir).train_planned, study=config.study,
                           config_hash=run.identity_hash, rule=config.selection)


def execute_run(run: PlannedRun, workdir: str, train_fn: TrainFn) -> RunOutcome:
  """Trains and evaluates one run (resuming from its checkpoint), then marks it finished."""
  step = state_lib.checkpoint_step(run, workdir)
  what = f'resuming {run.run_id} at step {step}' if step else f'starting {run.run_id}'
  print(f'study: {what} ({run.kind}, {run.dataset}, {run.length})', flush=True)
  run_dir = run.run_dir(workdir)
  if is_chief():
    runs.write_config(run.config, os.path.join(run_dir, runs.CONFIG_FILE))
  start = time.time()
  outcome = train_fn(run.config, run_dir) or {}
  seconds = time.time() - start
  if is_chief():  # only process 0 writes files
    if (run.kind in plan_lib.RESULT_KINDS
        and not os.path.exists(os.path.join(run_dir, plan_lib.RESULT_FILE))):
      raise RuntimeError(f'{run.run_id} finished without writing {run_dir}/result.json; the '
                         'fine-tune stage writes it at the end of every finetune/scratch run.')
    state_lib.mark_finished(run, workdir, seconds,
                            {k: outcome[k] for k in SUMMARY_KEYS if k in outcome})
  return RunOutcome(seconds=seconds, resumed_at=step or None)


def is_chief() -> bool:
  """True on the process that writes study files: process 0 (always, before jax is imported)."""
  jax = sys.modules.get('jax')  # dry runs and injected engines may never import it
  return jax is None or jax.process_index() == 0
