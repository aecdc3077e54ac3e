"""The end of a study: DIR/results.csv from its runs' result.json, then the report."""
from collections.abc import Sequence
import os
from typing import Any

import ml_collections
import pandas as pd

from jaxrobust import analysis
from jaxrobust.study import console
from jaxrobust.study import state as state_lib
from jaxrobust.study.plan import PlannedRun

RESULTS_CSV = 'results.csv'
REPORT_DIR = 'report'


def finish_study(config: ml_collections.ConfigDict, workdir: str,
                 plan: Sequence[PlannedRun]) -> dict[str, Any]:
  """results.csv and, once every run of the study is finished, the report and ER table.

  Returns the paths written (`results_csv`, `report_dir`) and the ER table. Process 0 only.
  """
  states = {r.run_id: state_lib.run_state(r, workdir) for r in plan}
  unfinished = [rid for rid, s in states.items() if s != 'finished']
  out, changed = {}, True
  if any(r.kind != 'pretrain' for r in plan):
    out['results_csv'], changed = _write_results_csv(workdir, plan)
  if unfinished:
    print(f'study: {len(plan) - len(unfinished)}/{len(plan)} runs finished; the report is '
          'written once all are (run the other --only slices, copy their runs/ here, rerun).',
          flush=True)
    return out
  report_dir = os.path.join(workdir, REPORT_DIR)
  if changed or not os.path.exists(os.path.join(report_dir, 'report.md')):
    out['analysis'] = analysis.write_report(
        [out['results_csv']], report_dir, metric=config.analysis.metric,
        transform=config.analysis.transform, group_by=list(config.analysis.group_by) or None,
        selection=config.selection)
  table = _er_by_setting(report_dir, plan)
  print(console.format_table(['pre-training', 'models', 'ID %', 'OOD %', 'ER (points)'], table))
  print(f'study: report written to {os.path.join(report_dir, "report.md")}', flush=True)
  out.update({'report_dir': report_dir, 'er_by_setting': table})
  return out


def _write_results_csv(workdir: str, plan: Sequence[PlannedRun]) -> tuple[str, bool]:
  """DIR/results.csv from this study's runs (not stale or other runs in DIR); (path, changed)."""
  df = analysis.collect_results(workdir)
  df = df[df['run_id'].isin({r.run_id for r in plan})]
  text = df.to_csv(index=False)
  path = os.path.join(workdir, RESULTS_CSV)
  if os.path.exists(path):
    with open(path) as f:
      if f.read() == text:
        return path, False
  with open(path, 'w') as f:
    f.write(text)
  return path, True


def _er_by_setting(report_dir: str, plan: Sequence[PlannedRun]) -> list[list[str]]:
  """Mean ID, OOD and ER of the fine-tuned models of each pre-training setting, and scratch."""
  er = pd.read_csv(os.path.join(report_dir, 'er_table.csv'))
  setting = {r.run_id: (r.pretrain_setting or 'scratch') for r in plan}
  order = list(dict.fromkeys([r.pretrain_setting for r in plan if r.kind == 'finetune']
                             + ['scratch']))
  er['setting'] = er['run_id'].map(setting)
  rows = []
  for name in order:
    g = er[er['setting'] == name]
    if len(g):
      rows.append([name, len(g), f'{100 * g["id"].mean():.1f}', f'{100 * g["ood"].mean():.1f}',
                   f'{g["er"].mean():+.2f}'])
  return rows
