"""Run a study: prepare data, pre-train, fine-tune, scratch baselines, evaluate, analyse.

`run_study(config, workdir)` is what `python -m jaxrobust.main --config=configs/<study>.py` calls.
Re-running continues where the last call stopped: runs with a finished marker for the same
config are skipped, started runs resume from their checkpoints (the engine does that), and a
changed config gets new run ids. See docs/studies.md.
"""
from collections.abc import Callable
import functools
import json
import os
import sys
import time
from typing import Any

import ml_collections

from jaxrobust import errors
from jaxrobust import runs
from jaxrobust.study import console
from jaxrobust.study import cost
from jaxrobust.study import datasets as datasets_lib
from jaxrobust.study import plan as plan_lib
from jaxrobust.study import prepare as prepare_lib
from jaxrobust.study import progress as progress_lib
from jaxrobust.study import report as report_lib
from jaxrobust.study import state as state_lib
from jaxrobust.study.plan import datasets_needed, plan_study, PlannedRun, select_runs

TrainFn = Callable[[ml_collections.ConfigDict, str], dict[str, Any]]
STUDY_JSON = 'study.json'
PLAN_JSON = 'plan.json'
SUMMARY_KEYS = ('step', 'train_loss', 'scores', 'wall_seconds')  # of train_and_evaluate's return


def run_study(config: ml_collections.ConfigDict, workdir: str, *, dry_run: bool = False,
              only: str | None = None, train_fn: TrainFn | None = None) -> dict[str, Any]:
  """Runs (or with `dry_run` describes) the study, or the `only` slice of it.

  Returns a summary: planned/selected/executed/skipped run ids and, when every run of the study
  is finished, the paths of results.csv and the report.
  """
  plan = plan_study(config, workdir)
  selected = select_runs(plan, only)
  data_dir = datasets_lib.resolve_data_dir(config.data_dir, workdir)
  states = {r.run_id: state_lib.run_state(r, workdir) for r in plan}
  needs = datasets_needed(plan, [r.run_id for r in selected])
  if dry_run:
    _print_dry_run(config, workdir, data_dir, plan, selected, states, needs, only)
    return {'planned': [r.run_id for r in plan], 'selected': [r.run_id for r in selected],
            'executed': [], 'skipped': []}
  _check_blocked(plan, selected, states, only)
  engine = None
  if train_fn is None:
    from jaxrobust.study import execute as engine  # pylint: disable=g-import-not-at-top  (jax)
    engine.share_compilations(workdir)
  _write_study_files(config, plan, workdir)
  todo = [r for r in selected if states[r.run_id] != 'finished']
  if todo:
    _prepare(datasets_needed(plan, [r.run_id for r in todo]), data_dir)
    if engine is not None:
      engine.barrier('jaxrobust_study_prepare')
  progress = progress_lib.StudyProgress(
      selected, {r.run_id for r in selected if states[r.run_id] == 'finished'})
  print(progress.line(), flush=True)
  executed = []
  for run in todo:
    step = state_lib.checkpoint_step(run, workdir)
    what = f'resuming {run.run_id} at step {step}' if step else f'starting {run.run_id}'
    print(f'study: {what} ({run.kind}, {run.dataset}, {run.length})', flush=True)
    run_train_fn = train_fn or functools.partial(
        engine.train_planned, study=config.study, config_hash=run.identity_hash,
        rule=config.selection)
    seconds = _execute(run, workdir, run_train_fn)
    executed.append(run.run_id)
    progress.finished(run, seconds)
    print(progress.line(), flush=True)
  summary = {'planned': [r.run_id for r in plan], 'selected': [r.run_id for r in selected],
             'executed': executed,
             'skipped': [r.run_id for r in selected if states[r.run_id] == 'finished']}
  if _is_chief():
    summary.update(report_lib.finish_study(config, workdir, plan))
  return summary


def _execute(run: PlannedRun, workdir: str, train_fn: TrainFn) -> float:
  """Trains and evaluates one run, then marks it finished; returns its wall seconds."""
  run_dir = run.run_dir(workdir)
  if _is_chief():
    runs.write_config(run.config, os.path.join(run_dir, runs.CONFIG_FILE))
  start = time.time()
  outcome = train_fn(run.config, run_dir) or {}
  seconds = time.time() - start
  if _is_chief():  # only process 0 writes files
    if (run.kind in plan_lib.RESULT_KINDS
        and not os.path.exists(os.path.join(run_dir, plan_lib.RESULT_FILE))):
      raise RuntimeError(f'{run.run_id} finished without writing {run_dir}/result.json; the '
                         'fine-tune stage writes it at the end of every finetune/scratch run.')
    state_lib.mark_finished(run, workdir, seconds,
                            {k: outcome[k] for k in SUMMARY_KEYS if k in outcome})
  return seconds


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
  if not _is_chief():
    return
  os.makedirs(workdir, exist_ok=True)
  with open(os.path.join(workdir, STUDY_JSON), 'w') as f:
    f.write(config.to_json_best_effort(indent=1))
  rows = [{'run_id': r.run_id, 'kind': r.kind, 'setting': r.setting,
           'pretrain_setting': r.pretrain_setting, 'pretrain_id': r.pretrain_id,
           'dataset': r.dataset, 'subset': r.subset, 'steps': r.steps} for r in plan]
  with open(os.path.join(workdir, PLAN_JSON), 'w') as f:
    json.dump({'study': config.study, 'runs': rows}, f, indent=1)


def _prepare(needs: list[dict[str, Any]], data_dir: str) -> None:
  """Builds the generated datasets and materializes the subsets that are not there yet."""
  statuses = [datasets_lib.dataset_status(n, data_dir) for n in needs]
  missing = [s.name for s in statuses if s.state == 'missing']
  if missing:
    raise errors.DatasetNotBuiltError(
        f'{", ".join(missing)} not prepared in {data_dir}: put the manual downloads in a folder '
        f'(--dry_run says which files), run python -m jaxrobust.data prepare --config=<this '
        f'study config> --data_dir={data_dir} --manual_dir=<that folder>, then rerun.')
  todo = [n for n, s in zip(needs, statuses) if s.state != 'ready']
  if todo and _is_chief():
    print(f'study: preparing {len(todo)} datasets in {data_dir}', flush=True)
    print(prepare_lib.summary_table(prepare_lib.prepare_datasets(todo, data_dir)), flush=True)


def _print_dry_run(config, workdir, data_dir, plan, selected, states, needs, only) -> None:
  statuses = [datasets_lib.dataset_status(n, data_dir) for n in needs]
  selection = f' (--only={only}: {len(selected)} of them)' if only else ''
  print(f'Study {config.study!r}: {len(plan)} runs{selection}; workdir {workdir}; '
        f'data_dir {data_dir}')
  print('Stages: ' + console.stages_line(selected, len(needs)))
  print(console.groups_line(selected))
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
    print(f'Put those files in a folder M, then run: python -m jaxrobust.data prepare '
          f'--config=<this study config> --data_dir={data_dir} --manual_dir=M')
  print()
  print(cost.cost_table(selected, cost.current_device(), cost.known_rows()))
  print()
  print('Disjoint --only slices covering the study (one machine each):')
  for glob in plan_lib.slice_globs(plan):
    print(f"  --only='{glob}'")


def _is_chief() -> bool:
  """True on the process that writes study files: process 0 (always, before jax is imported)."""
  jax = sys.modules.get('jax')  # dry runs and injected engines may never import it
  return jax is None or jax.process_index() == 0
