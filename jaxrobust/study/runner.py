"""Run a study: prepare data, pre-train, fine-tune, scratch baselines, evaluate, analyse.

`run_study(config, workdir)` is what `python -m jaxrobust.main --config=configs/<study>.py` calls.
Re-running continues where the last call stopped: runs with a finished marker for the same
config are skipped, started runs resume from their checkpoints (the engine does that), and a
changed config gets new run ids. See docs/studies.md.
"""
from collections.abc import Callable
import json
import os
import sys
import time
from typing import Any

import ml_collections

from jaxrobust import errors
from jaxrobust import runs
from jaxrobust.studies import console
from jaxrobust.studies import datasets as datasets_lib
from jaxrobust.studies import plan as plan_lib
from jaxrobust.studies import progress as progress_lib
from jaxrobust.studies import state as state_lib
# The public API of studies, with run_study below.
from jaxrobust.studies.plan import datasets_needed  # noqa: F401
from jaxrobust.studies.plan import plan_study
from jaxrobust.studies.plan import PlannedRun
from jaxrobust.studies.plan import select_runs

TrainFn = Callable[[ml_collections.ConfigDict, str], dict[str, Any]]
STUDY_JSON = 'study.json'
PLAN_JSON = 'plan.json'
RESULTS_CSV = 'results.csv'
REPORT_DIR = 'report'
SUMMARY_KEYS = ('step', 'train_loss', 'scores', 'wall_seconds')  # of train_and_evaluate's return


def run_study(config: ml_collections.ConfigDict, workdir: str, *, dry_run: bool = False,
              only: str | None = None, train_fn: TrainFn | None = None) -> dict[str, Any]:
  """Runs (or with `dry_run` describes) the study, or the `only` slice of it.

  Returns a summary: planned/selected/executed/skipped run ids and, when every run of the study
  is finished, the paths of results.csv and the report.
  """
  plan = plan_study(config, workdir)
  selected = select_runs(plan, only)
  data_dir = datasets_lib.resolve_data_dir(config.data_dir)
  states = {r.run_id: state_lib.run_state(r, workdir) for r in plan}
  needs = datasets_needed(config, [r.run_id for r in selected])
  if dry_run:
    _print_dry_run(config, workdir, data_dir, plan, selected, states, needs, only)
    return {'planned': [r.run_id for r in plan], 'selected': [r.run_id for r in selected],
            'executed': [], 'skipped': []}
  _check_blocked(plan, selected, states, only)
  _write_study_files(config, plan, workdir)
  todo = [r for r in selected if states[r.run_id] != 'finished']
  if todo:
    _prepare(datasets_needed(config, [r.run_id for r in todo]), data_dir)
  if train_fn is None:
    train_fn = _engine_train
    _share_compilations(workdir)
  progress = progress_lib.StudyProgress(
      selected, {r.run_id for r in selected if states[r.run_id] == 'finished'})
  print(progress.line(), flush=True)
  executed = []
  for run in todo:
    verb = 'resuming' if states[run.run_id] == 'started' else 'starting'
    print(f'study: {verb} {run.run_id} ({run.kind}, {run.dataset}, {run.length})', flush=True)
    seconds = _execute(run, workdir, train_fn)
    executed.append(run.run_id)
    progress.finished(run, seconds)
    print(progress.line(), flush=True)
  summary = {'planned': [r.run_id for r in plan], 'selected': [r.run_id for r in selected],
             'executed': executed,
             'skipped': [r.run_id for r in selected if states[r.run_id] == 'finished']}
  summary.update(_finish_study(config, workdir, plan))
  return summary


def _engine_train(run_config: ml_collections.ConfigDict, run_dir: str) -> dict[str, Any]:
  from jaxrobust import train  # pylint: disable=g-import-not-at-top  (dry runs need no jax)
  return train.train_and_evaluate(run_config, run_dir)


def _share_compilations(workdir: str) -> None:
  """Caches compiled steps in DIR/cache/jax, unless the user set a JAX compilation cache.

  The runs of a study mostly share shapes (every fine-tune of one architecture, runs of one
  label space), so later runs skip most of XLA's compile time (half the wall time of the
  CPU-sized studies).
  """
  import jax  # pylint: disable=g-import-not-at-top
  if jax.config.jax_compilation_cache_dir:
    return
  jax.config.update('jax_compilation_cache_dir', os.path.join(workdir, 'cache', 'jax'))
  jax.config.update('jax_persistent_cache_min_compile_time_secs', 0)


def _execute(run: PlannedRun, workdir: str, train_fn: TrainFn) -> float:
  """Trains and evaluates one run, then marks it finished; returns its wall seconds."""
  run_dir = run.run_dir(workdir)
  if _is_chief():
    runs.write_config(run.config, os.path.join(run_dir, runs.CONFIG_FILE))
  start = time.time()
  outcome = train_fn(run.config, run_dir) or {}
  seconds = time.time() - start
  if _is_chief():  # only process 0 writes files
    if run.kind != 'pretrain' and not os.path.exists(os.path.join(run_dir, 'result.json')):
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
    from jaxrobust.data import prepare  # pylint: disable=g-import-not-at-top
    print(f'study: preparing {len(todo)} datasets in {data_dir}', flush=True)
    print(prepare.summary_table(prepare.prepare_datasets(todo, data_dir)), flush=True)
  _barrier('jaxrobust_study_prepare')


def _finish_study(config, workdir, plan) -> dict[str, Any]:
  """results.csv and, once every run of the study is finished, the report and ER table."""
  states = {r.run_id: state_lib.run_state(r, workdir) for r in plan}
  unfinished = [rid for rid, s in states.items() if s != 'finished']
  if not _is_chief():
    return {}
  out, changed = {}, True
  if any(r.kind != 'pretrain' for r in plan):
    out['results_csv'], changed = _write_results_csv(workdir, plan)
  if unfinished:
    print(f'study: {len(plan) - len(unfinished)}/{len(plan)} runs finished; the report is '
          'written once all are (run the other --only slices, copy their runs/ here, rerun).',
          flush=True)
    return out
  from jaxrobust import analysis  # pylint: disable=g-import-not-at-top
  report_dir = os.path.join(workdir, REPORT_DIR)
  if changed or not os.path.exists(os.path.join(report_dir, 'report.md')):
    out['analysis'] = analysis.write_report(
        [out['results_csv']], report_dir, metric=config.analysis.metric,
        transform=config.analysis.transform, group_by=list(config.analysis.group_by) or None)
  table = _er_by_setting(report_dir, plan)
  print(console.format_table(['pre-training', 'models', 'ID %', 'OOD %', 'ER (points)'], table))
  print(f'study: report written to {os.path.join(report_dir, "report.md")}', flush=True)
  out.update({'report_dir': report_dir, 'er_by_setting': table})
  return out


def _write_results_csv(workdir: str, plan) -> tuple[str, bool]:
  """DIR/results.csv from this study's runs (not stale or other runs in DIR); (path, changed)."""
  from jaxrobust import analysis  # pylint: disable=g-import-not-at-top
  df = analysis.collect_results(workdir)
  # Evaluations during training are rows '<run_id>/epoch_<e>' of their run.
  df = df[df['run_id'].astype(str).map(_planned_run_id).isin({r.run_id for r in plan})]
  text = df.to_csv(index=False)
  path = os.path.join(workdir, RESULTS_CSV)
  if os.path.exists(path):
    with open(path) as f:
      if f.read() == text:
        return path, False
  with open(path, 'w') as f:
    f.write(text)
  return path, True


def _planned_run_id(result_run_id: str) -> str:
  return result_run_id.split('/')[0]


def _er_by_setting(report_dir: str, plan) -> list[list[str]]:
  """Mean ID, OOD and ER of the fine-tuned models of each pre-training setting, and scratch."""
  import pandas as pd  # pylint: disable=g-import-not-at-top
  er = pd.read_csv(os.path.join(report_dir, 'er_table.csv'))
  setting = {r.run_id: (r.pretrain_setting or 'scratch') for r in plan}
  order = list(dict.fromkeys([r.pretrain_setting for r in plan if r.kind == 'finetune']
                             + ['scratch']))
  er['setting'] = er['run_id'].astype(str).map(_planned_run_id).map(setting)
  rows = []
  for name in order:
    g = er[er['setting'] == name]
    if len(g):
      rows.append([name, len(g), f'{100 * g["id"].mean():.1f}', f'{100 * g["ood"].mean():.1f}',
                   f'{g["er"].mean():+.2f}'])
  return rows


def _print_dry_run(config, workdir, data_dir, plan, selected, states, needs, only) -> None:
  statuses = [datasets_lib.dataset_status(n, data_dir) for n in needs]
  selection = f' (--only={only}: {len(selected)} of them)' if only else ''
  print(f'Study {config.study!r}: {len(plan)} runs{selection}; workdir {workdir}; '
        f'data_dir {data_dir}')
  print('Stages: ' + console.stages_line(selected, len(needs)))
  print(console.plan_table(selected, states))
  print()
  print(console.datasets_table(statuses))
  missing = [s for s in statuses if s.state == 'missing']
  for s in missing:
    print(f'MISSING manual data for {s.name}: {s.detail}')
  if missing:
    print(f'Put those files in a folder M, then run: python -m jaxrobust.data prepare '
          f'--config=<this study config> --data_dir={data_dir} --manual_dir=M')
  print()
  print('Disjoint --only slices covering the study (one machine each):')
  for glob in plan_lib.slice_globs(plan):
    print(f"  --only='{glob}'")


def _is_chief() -> bool:
  """True on the process that writes study files: process 0 (always, before jax is imported)."""
  if 'jax' not in sys.modules:
    return True
  import jax  # pylint: disable=g-import-not-at-top
  return jax.process_index() == 0


def _barrier(name: str) -> None:
  if 'jax' not in sys.modules:
    return
  import jax  # pylint: disable=g-import-not-at-top
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
    multihost_utils.sync_global_devices(name)
