"""The report folder: er_table.csv, group_table.csv, figures (PNG + SVG) and report.md."""
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from jaxrobust.analysis import errors
from jaxrobust.analysis import pipeline
from jaxrobust.analysis import load
from jaxrobust.analysis import plots
from jaxrobust.analysis import summary
from jaxrobust.analysis import transforms

MAX_DIFFERENCE_ROWS = 45  # beyond this, group_differences.csv only
_SELECTION_TEXT = {
    None: 'Model selection: none recorded (each run\'s model at the end of training).',
    'ood_val': 'Model selection: each run\'s epoch with the best `val` (OOD validation) '
               'macro-F1, as WILDS selects for iWildCam (`--selection` switches).',
    'id_val': 'Model selection: each run\'s epoch with the best `id_val` (ID validation) '
              'macro-F1 (`--selection` switches).',
    'last': 'Model selection: each run\'s last epoch (`--selection` switches).',
}


def markdown_table(df: pd.DataFrame) -> str:
  """A DataFrame of text cells as a GitHub markdown table."""
  lines = ['| ' + ' | '.join(map(str, df.columns)) + ' |', '|' + '---|' * len(df.columns)]
  lines += ['| ' + ' | '.join(map(str, row)) + ' |' for row in df.itertuples(index=False)]
  return '\n'.join(lines)


def model_rows(table: pd.DataFrame) -> pd.DataFrame:
  """The per-model table as text, scores in %."""
  return pd.DataFrame({
      'run_id': table['run_id'], 'group': table['group'],
      'ID %': [summary.with_interval(*v, 100) for v in zip(
          table['id'], table['id_low'], table['id_high'])],
      'OOD %': [summary.with_interval(*v, 100) for v in zip(
          table['ood'], table['ood_low'], table['ood_high'])],
      'expected OOD %': [f'{100 * v:.1f}' for v in table['expected_ood']],
      'ER points': [summary.with_interval(*v, signed=True) for v in zip(
          table['er'], table['er_low'], table['er_high'])],
      'interval covers': table['interval_covers'],
  })


def difference_rows(differences: pd.DataFrame) -> pd.DataFrame:
  """Pairwise group differences as text."""
  return pd.DataFrame({
      'group a': differences['group_a'], 'group b': differences['group_b'],
      'ER a - b (points)': [summary.with_interval(*v, signed=True) for v in zip(
          differences['er_difference'], differences['low'], differences['high'])]})


def _trend_text(analysis: pipeline.Analysis) -> str:
  trend = analysis.trend
  (a_low, a_high), (b_low, b_high) = summary.trend_intervals(analysis)
  t = transforms.get_transform(analysis.transform)
  base = analysis.table[analysis.table['baseline']]
  residual = t(base['ood']) - (trend.slope * t(base['id']) + trend.intercept)
  name = analysis.transform
  return (f'{name}(OOD) = a * {name}(ID) + b with a = {trend.slope:.3f} '
          f'[{a_low:.3f}, {a_high:.3f}], b = {trend.intercept:.3f} [{b_low:.3f}, {b_high:.3f}], '
          f'fitted by least squares on {len(base)} baseline models ({analysis.baseline}); '
          f'residual sd {np.std(residual, ddof=min(2, len(base) - 1)):.3f} in {name} units. '
          f'Scores are clipped to [{transforms.EPS}, {1 - transforms.EPS}] before transforming.')


_COVERAGE_TEXT = """\
All intervals are {level:.0%} bootstrap intervals: percentiles of {resamples} resamples (seed {seed}).
ID and OOD: the model's test examples resampled with replacement (ID and OOD independently) from
its `predictions_<split>.npz`; macro-F1 is recomputed on each resample (classes present in the
resample's ground truth). Expected OOD and the trend band: a studentized (bootstrap-t) residual
bootstrap of the baseline models' scatter around the line (leverage-corrected residuals, each
refitted line rescaled by the ratio of residual sds), which widens like the t band of least
squares with few baseline models (simulated coverage of the 95% band about 0.95 with 5 to 20
models); it assumes a roughly symmetric scatter of equal size along the line. ER: both at once
(resample b of the test sets with resample b of the trend), so it covers the model's test-set
noise and the uncertainty of the baseline trend; models without predictions files get the trend
part only. Group mean ER also resamples the group's models, covering the spread between runs of
one setting (slightly conservative with 4 runs per group in simulation; with 2 runs, resampling
them understates that spread).
Differences between groups share trend resamples, so the trend's uncertainty mostly cancels."""


def save_report(analysis: pipeline.Analysis, out_dir, inputs: Sequence[str] = ()) -> str:
  """Writes the tables, figures and report.md of `analysis` into `out_dir`; returns report.md."""
  out = load.open_path(out_dir)
  try:
    out.mkdir(parents=True, exist_ok=True)
    for name, df in (('er_table', analysis.table), ('group_table', analysis.groups),
                     ('group_differences', analysis.differences), ('skipped', analysis.skipped)):
      (out / f'{name}.csv').write_text(df.to_csv(index=False))
  except OSError as e:  # read-only, a file in the way, a full disk
    raise errors.AnalysisError(f'Cannot write the report to {out} ({e.strerror or e}); give '
                               '--out a folder you can write to.') from None
  figures = {'id_vs_ood': plots.plot_id_vs_ood(analysis)}
  for column in analysis.group_by:
    figures[f'er_vs_{column.removeprefix("pretrain.")}'] = plots.plot_er_vs_property(
        analysis, column)
  for name, fig in figures.items():
    plots.save_figure(fig, out, name)

  metric = analysis.metric
  md = ['# Effective robustness report', '', '## Findings', '']
  md += [f'- {line}' for line in summary.findings(analysis)] + ['']
  if inputs:
    md += ['Results: ' + ', '.join(f'`{p}`' for p in inputs), '']
  md += [f'Metric: {metric} (ID split `{analysis.id_split}`, OOD split `{analysis.ood_split}`). '
         f'{len(analysis.table)} models, {len(analysis.groups)} groups'
         + (f' by {", ".join(analysis.group_by)}' if analysis.group_by else '') + '. '
         + _SELECTION_TEXT.get(analysis.selection, f'Model selection: {analysis.selection}.'),
         '',
         '## Baseline trend', '', _trend_text(analysis), '',
         '![OOD vs ID](id_vs_ood.png)', '']
  if analysis.notes:
    md += ['## Caveats', ''] + [f'- {n}' for n in analysis.notes] + ['']
  md += ['## What the intervals cover', '', _COVERAGE_TEXT.format(
      level=analysis.level, resamples=analysis.num_resamples, seed=analysis.seed), '']
  md += ['## Groups', '', 'Mean ER over the group\'s models, in OOD points above the baseline '
         'trend (`group_table.csv`).', '', markdown_table(summary.group_rows(analysis)), '']
  md += [f'![ER vs {name[len("er_vs_"):]}]({name}.png)' for name in figures if name != 'id_vs_ood']
  if len(analysis.differences):
    md += ['', '### Differences between groups', '']
    if len(analysis.differences) <= MAX_DIFFERENCE_ROWS:
      md += [markdown_table(difference_rows(analysis.differences))]
    else:
      md += [f'{len(analysis.differences)} pairs: see `group_differences.csv`.']
  md += ['', '## Models', '', 'ID/OOD in %, ER in points, intervals in brackets '
         '(`er_table.csv` holds the same in fractions and points).', '',
         markdown_table(model_rows(analysis.table)), '']
  if len(analysis.skipped):
    md += ['## Skipped runs', '', markdown_table(analysis.skipped[['run_id', 'reason']]), '']
  path = out / 'report.md'
  path.write_text('\n'.join(md))
  return str(path)


def report_dir(inputs: Sequence[str], out: str | None = None) -> str:
  """`out`, else DIR/report when `inputs` is one workdir DIR (not a results.csv)."""
  if out:
    return out
  if len(inputs) == 1 and not inputs[0].endswith('.csv'):
    return str(load.open_path(inputs[0]) / 'report')
  raise errors.AnalysisError(
      f'Pass --out=DIR: the default (DIR/report) needs exactly one study workdir, got '
      f'{len(inputs)} input(s) {", ".join(inputs)}.')


def write_report(inputs: str | Sequence[str], out_dir, selection: str | None = None,
                 **options: Any) -> pipeline.Analysis:
  """Loads results (workdirs / results.csv), analyses them and saves the report in `out_dir`.

  `selection`: the model selection rule whose models to analyse (load.apply_selection; None:
  the one each result.json reports). `options` go to `pipeline.analyze` (metric, transform,
  baseline, group_by, num_resamples, level, seed).
  """
  inputs = [inputs] if isinstance(inputs, str) else [str(p) for p in inputs]
  df = load.load_results(inputs)
  if selection is not None:
    df = load.apply_selection(df, selection)
  analysis = pipeline.analyze(df, **options)
  save_report(analysis, out_dir, inputs)
  return analysis
