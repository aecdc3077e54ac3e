"""Run a study: prepare data, pre-train, fine-tune, scratch baselines, evaluate, analyse.

`run_study(config, workdir)` is what `python -m jaxrobust.main --config=configs/<study>.py` calls.
Re-running continues where the last call stopped: runs with a finished marker for the same
config are skipped, started runs resume from their checkpoints (the engine does that), and a
changed config gets new run ids. See docs/studies.md.
"""
import contextlib
import json
import os
from typing import Any

import ml_collections

from jaxrobust import errors
from jaxrobust import runs
from jaxrobust.datasets import sizes
from jaxrobust.study import console
from jaxrobust.study import controls
from jaxrobust.study import cost
from jaxrobust.study import datasets as datasets_lib
from jaxrobust.study import plan as plan_lib
from jaxrobust.study import progress as progress_lib
from jaxrobust.study import report as report_lib
from jaxrobust.study import resolution
from jaxrobust.study import stages
from jaxrobust.study import state as state_lib
from jaxrobust.study.plan import datasets_needed, plan_study, PlannedRun, select_runs

EXECUTORS = ('local', 'ray')
STUDY_JSON = 'study.json'
PLAN_JSON = 'plan.json'


def run_study(config: ml_collections.ConfigDict, workdir: str, *, dry_run: bool = False,
              only: str | None = None, train_fn: stages.TrainFn | None = None,
              executor: str = 'local', ray_address: str | None = None,
              wait: bool = False) -> dict[str, Any]:
  """Runs (or with `dry_run` describes) the study, or the `only` slice of it.

  `executor`: 'local' runs one run after another in this process; 'ray' makes every run a task
  of the Ray cluster at `ray_address` (jaxrobust.study.ray_executor). Every planned run's config
  is checked before anything is written; then the study holds the workdir's lock
  (jaxrobust.study.workdir_lock; `wait`: queue behind another holder). Returns a summary:
  planned/selected/executed/skipped run ids, the checkpoint step of each run that resumed and,
  when every run of the study is finished, the paths of results.csv and the report. Raises
  errors.RunsFailedError after the rest of the study when runs failed (Ray executor).
  """
  workdir = str(runs.absolute_path(workdir))  # Ray tasks and every run dir start from it
  plan = plan_study(config, workdir)
  controls.check(config)
  selected = select_runs(plan, only)
  data_dir = datasets_lib.study_data_dir(config.data_dir, workdir)
  _check_run_configs(plan, data_dir)
  if dry_run:
    states = {r.run_id: state_lib.run_state(r, workdir) for r in plan}
    needs = datasets_needed(plan, [r.run_id for r in selected])
    _print_dry_run(config, workdir, data_dir, plan, selected, states, needs, only)
    return {'planned': [r.run_id for r in plan], 'selected': [r.run_id for r in selected],
            'executed': [], 'skipped': []}
  with stages.workdir_held(workdir, wait=wait):
    return _run_locked(config, workdir, plan, selected, data_dir, only, train_fn, executor,
                       ray_address)


def _run_locked(config, workdir, plan, selected, data_dir, only, train_fn, executor,
                ray_address) -> dict[str, Any]:
  """run_study's work under the workdir lock: the states are read once the lock is held."""
  states = {r.run_id: state_lib.run_state(r, workdir) for r in plan}
  _check_blocked(plan, selected, states, only)
  todo = [r for r in selected if states[r.run_id] != 'finished']
  with _executor(executor, ray_address, config.get('imports')) as runs_executor:  # connects first: fails fast
    _write_study_files(config, plan, workdir)
    if todo:
      runs_executor.prepare(datasets_needed(plan, [r.run_id for r in todo]), data_dir, workdir,
                            with_engine=train_fn is None)
      plan_lib.check_benchmark_splits(todo, data_dir)
    progress = progress_lib.StudyProgress(
        selected, {r.run_id for r in selected if states[r.run_id] == 'finished'})
    print(progress.line(), flush=True)
    outcomes, failures = runs_executor.run(config, todo, workdir, progress, train_fn)
  summary = {'planned': [r.run_id for r in plan], 'selected': [r.run_id for r in selected],
             'executed': [r.run_id for r in todo if r.run_id in outcomes],
             'skipped': [r.run_id for r in selected if states[r.run_id] == 'finished'],
             'resumed': {rid: o.resumed_at for rid, o in outcomes.items() if o.resumed_at}}
  if stages.is_chief():
    summary.update(report_lib.finish_study(config, workdir, plan))
  if failures:
    print(console.failures_table(failures), flush=True)
    raise errors.RunsFailedError(
        f'{len(failures)} of {len(todo)} runs failed (listed above); fix their cause and rerun '
        'the same command: finished runs are skipped.', failures)
  return summary


class LocalExecutor(contextlib.AbstractContextManager):
  """Runs the study in this process, one run after another (on every host of a multi-host job).

  Its runs share one engine cache (compiled programs, decoded small splits).
  """

  def __init__(self):
    self._engine_cache = None

  def __exit__(self, *exc_info) -> None:
    return None

  def prepare(self, needs: list[dict[str, Any]], data_dir: str, workdir: str, *,
              with_engine: bool) -> None:
    """Prepares the datasets; with the engine, its compilations are cached and hosts wait."""
    engine = stages.use_engine(workdir) if with_engine else None
    stages.prepare_data(needs, data_dir)
    if engine is not None:
      engine.barrier('jaxrobust_study_prepare')
      self._engine_cache = engine.new_cache()

  def run(self, config, todo: list[PlannedRun], workdir: str, progress,
          train_fn: stages.TrainFn | None) -> tuple[dict[str, stages.RunOutcome], dict[str, str]]:
    """Executes `todo` in order; a failing run stops the study (its error propagates)."""
    outcomes = {}
    for run in todo:
      outcomes[run.run_id] = stages.execute_run(
          run, workdir, stages.train_fn_for(config, run, workdir, train_fn, self._engine_cache))
      progress.finished(run, outcomes[run.run_id].seconds)
      print(outcomes[run.run_id].line(run.run_id) + ' | '
            + progress.line().removeprefix('study: '), flush=True)
    return outcomes, {}


def _executor(name: str, ray_address: str | None, imports: str | None):
  """The executor called `name`, connected (a Ray cluster is reached here, or refused).

  `imports`: the study's user modules, which Ray tasks import too.
  """
  if name == 'local':
    if ray_address:
      raise errors.UserError(f'--ray_address={ray_address} needs --executor=ray.')
    return LocalExecutor()
  if name == 'ray':
    from jaxrobust.study import ray_executor  # pylint: disable=g-import-not-at-top  (ray)
    return ray_executor.RayExecutor(ray_address, imports)
  raise errors.UserError(f'--executor={name}: use one of {", ".join(EXECUTORS)}.')


def _check_run_configs(plan: list[PlannedRun], data_dir: str) -> None:
  """Refuses a data dir that is a file and any planned run whose config is out of range."""
  runs.check_data_dir(data_dir, f'The data dir {data_dir} (config.data_dir or $TFDS_DATA_DIR)')
  for run in plan:
    try:
      runs.check_fields(run.config)
      runs.check_values(run.config)
    except errors.ConfigError as e:
      raise errors.ConfigError(f'{run.run_id} ({run.kind} run): {e}') from None


def _check_blocked(plan, selected, states, only) -> None:
  """Refuses a slice holding fine-tunes whose pre-training is neither finished nor in it."""
  chosen = {r.run_id for r in selected}
  blocked = sorted({r.pretrain_id for r in selected if r.kind == 'finetune'
                    and r.pretrain_id not in chosen and states[r.pretrain_id] != 'finished'})
  if blocked:
    raise errors.UserError(
        f'--only={only} selects fine-tunes of pre-training runs that are neither finished nor '
        f'selected: {", ".join(blocked)}. Run those first (e.g. --only={blocked[0]}) or '
        'widen --only to include them.')


def _write_study_files(config, plan, workdir) -> None:
  """DIR/study.json (the resolved study config) and DIR/plan.json (run id -> setting)."""
  if not stages.is_chief():
    return
  os.makedirs(workdir, exist_ok=True)
  with open(os.path.join(workdir, STUDY_JSON), 'w') as f:
    f.write(config.to_json_best_effort(indent=1))
  rows = [{'run_id': r.run_id, 'kind': r.kind, 'setting': r.setting,
           'pretrain_setting': r.pretrain_setting, 'pretrain_id': r.pretrain_id,
           'dataset': r.dataset, 'subset': r.subset, 'steps': r.steps,
           'target_classes_covered': r.target_classes_covered,
           'target_classes': r.target_classes} for r in plan]
  with open(os.path.join(workdir, PLAN_JSON), 'w') as f:
    json.dump({'study': config.study, 'runs': rows}, f, indent=1)


def _print_dry_run(config, workdir, data_dir, plan, selected, states, needs, only) -> None:
  statuses = [datasets_lib.dataset_status(n, data_dir) for n in needs]
  selection = f' (--only={only}: {len(selected)} of them)' if only else ''
  print(f'Study {config.study!r}: {len(plan)} runs{selection}; workdir {workdir}; '
        f'data_dir {data_dir}')
  print('Stages: ' + console.stages_line(selected, len(needs)))
  print(console.groups_line(selected))
  line = resolution.resolution_line(config, plan)
  if line:
    print(line)
  print(console.plan_table(selected, states))
  print()
  print(console.datasets_table(statuses))
  levels = console.label_levels(selected)
  if levels:
    print('\n' + levels + '\n')
  missing = [s for s in statuses if s.state == 'missing']
  for s in missing:
    print(f'MISSING manual data for {s.name}: {s.detail}')
  if missing:
    note = sizes.space_note([s.name for s in missing])
    if note:
      print(note)
    print(f'Put those files in a folder M, then run: python -m jaxrobust.study prepare '
          f'--config=<this study config> --data_dir={data_dir} --manual_dir=M')
  print()
  print(cost.cost_table(selected, cost.current_device(), cost.known_rows()))
  print()
  print('Disjoint --only slices covering the study (one machine each):')
  for glob in plan_lib.slice_globs(plan):
    print(f"  --only='{glob}'")
