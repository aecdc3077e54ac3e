"""The end of a study: DIR/results.csv from its runs' result.json, then the report.

The report always matches results.csv and the study's analysis settings: it is built in
`report.partial/` and swapped in whole, with `results.sha256` (the hash of the results.csv it
was built from) and `settings.json` (what it was made with); a rerun rebuilds it whenever
either differs, e.g. after a kill mid-report or a changed `config.analysis` field.
"""
from collections.abc import Sequence
import hashlib
import os
import shutil
from typing import Any

import ml_collections
import pandas as pd

from jaxrobust import analysis
from jaxrobust.study import console
from jaxrobust.study import controls
from jaxrobust.study import state as state_lib
from jaxrobust.study.plan import PlannedRun

RESULTS_CSV = 'results.csv'
REPORT_DIR = 'report'
RESULTS_HASH = 'results.sha256'  # in the report folder: sha256 of the results.csv it shows
LEVEL = 0.95  # of the report's intervals (the equivalence test's is 2 * LEVEL - 1)


def finish_study(config: ml_collections.ConfigDict, workdir: str,
                 plan: Sequence[PlannedRun]) -> dict[str, Any]:
  """results.csv and, once every run of the study is finished, the report and ER table.

  Returns the paths written (`results_csv`, `report_dir`) and the ER table. Process 0 only.
  """
  states = {r.run_id: state_lib.run_state(r, workdir) for r in plan}
  unfinished = [rid for rid, s in states.items() if s != 'finished']
  out = {}
  if any(r.kind != 'pretrain' for r in plan):
    out['results_csv'] = _write_results_csv(workdir, plan)
  if unfinished:
    print(f'study: {len(plan) - len(unfinished)}/{len(plan)} runs finished; the report is '
          'written once all are (run the other --only slices, copy their runs/ here, rerun).',
          flush=True)
    return out
  report_dir = os.path.join(workdir, REPORT_DIR)
  csv_hash = _sha256(out['results_csv'])
  recorded = analysis.recorded_settings(report_dir) if os.path.isdir(report_dir) else None
  if (_recorded_hash(report_dir) != csv_hash or recorded is None
      or recorded.get('settings') != analysis.report_settings(**_analysis_options(config))):
    out['analysis'] = _rebuild_report(config, out['results_csv'], report_dir, csv_hash)
  table = _er_by_setting(report_dir)
  metric = config.analysis.metric
  print(console.format_table(['pre-training', 'models', f'ID {metric} %', f'OOD {metric} %',
                              f'ER ({metric} points) [{LEVEL:.0%} interval]', 'verdict vs trend'],
                             table))
  print('Findings:\n' + '\n'.join(_findings(report_dir)))
  print(f'study: report written to {os.path.join(report_dir, "report.md")}', flush=True)
  checks = controls.control_lines(config, report_dir, plan, LEVEL)
  if checks:
    print('Controls:\n' + '\n'.join(checks), flush=True)
  out.update({'report_dir': report_dir, 'er_by_setting': table})
  return out


def _write_results_csv(workdir: str, plan: Sequence[PlannedRun]) -> str:
  """DIR/results.csv from this study's runs (not stale or other runs in DIR), atomically."""
  df = analysis.collect_results(workdir)
  df = df[df['run_id'].isin({r.run_id for r in plan})]
  path = os.path.join(workdir, RESULTS_CSV)
  _write_atomically(path, df.to_csv(index=False))
  return path


def _write_atomically(path: str, text: str) -> None:
  tmp = f'{path}.tmp'
  with open(tmp, 'w') as f:
    f.write(text)
  os.replace(tmp, path)


def _sha256(path: str) -> str:
  with open(path, 'rb') as f:
    return hashlib.sha256(f.read()).hexdigest()


def _recorded_hash(report_dir: str) -> str | None:
  path = os.path.join(report_dir, RESULTS_HASH)
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return f.read().strip()


def _rebuild_report(config: ml_collections.ConfigDict, results_csv: str, report_dir: str,
                    csv_hash: str) -> analysis.Analysis:
  """Writes the report in `<report_dir>.partial` and swaps it in whole, hash last."""
  partial, old = f'{report_dir}.partial', f'{report_dir}.old'
  for leftover in (partial, old):
    shutil.rmtree(leftover, ignore_errors=True)
  result = analysis.write_report([results_csv], partial, made_by='study',
                                 **_analysis_options(config))
  _write_atomically(os.path.join(partial, RESULTS_HASH), csv_hash + '\n')
  if os.path.exists(report_dir):
    os.rename(report_dir, old)
  os.rename(partial, report_dir)
  shutil.rmtree(old, ignore_errors=True)
  return result


def _analysis_options(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """The study's report settings (analysis.report_settings' arguments)."""
  return dict(selection=config.selection, metric=config.analysis.metric,
              transform=config.analysis.transform,
              group_by=list(config.analysis.group_by) or None,
              equivalence_margin=config.analysis.equivalence_margin, level=LEVEL)


def _er_by_setting(report_dir: str) -> list[list[str]]:
  """The report's group table: label, models, mean ID/OOD %, mean ER, interval, verdict."""
  groups = pd.read_csv(os.path.join(report_dir, 'group_table.csv'))
  groups['verdict'] = groups['verdict'].fillna('-')
  return [[g.group, g.n_models, f'{100 * g.id_mean:.1f}', f'{100 * g.ood_mean:.1f}',
           f'{g.er:+.1f} [{g.er_low:+.1f}, {g.er_high:+.1f}]', g.verdict]
          for g in groups.itertuples()]


def _findings(report_dir: str) -> list[str]:
  """The bullet lines of report.md's Findings section."""
  with open(os.path.join(report_dir, 'report.md')) as f:
    section = f.read().split('## Findings', 1)[-1].split('\n## ', 1)[0]
  return [line for line in section.splitlines() if line.startswith('- ')]
