"""The report folder: er_table.csv, group and line tables, figures (PNG + SVG) and report.md."""
from collections.abc import Mapping, Sequence
import hashlib
import importlib.metadata
import json
import pathlib
import subprocess
from typing import Any

import numpy as np
import pandas as pd

from jaxrobust.analysis import bootstrap
from jaxrobust.analysis import errors
from jaxrobust.analysis import pipeline
from jaxrobust.analysis import load
from jaxrobust.analysis import plots
from jaxrobust.analysis import summary
from jaxrobust.analysis import transforms
from jaxrobust.analysis import verdicts

MAX_DIFFERENCE_ROWS = 45  # beyond this, group_differences.csv only
_SELECTION_TEXT = {
    None: 'Model selection: none recorded (each run\'s model at the end of training).',
    'ood_val': 'Model selection: each run\'s epoch with the best `{split}` (OOD validation) '
               'macro-F1, as WILDS selects (`--selection` switches).',
    'id_val': 'Model selection: each run\'s epoch with the best `{split}` (ID validation) '
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


def difference_rows(differences: pd.DataFrame, level: float, value: str = 'er_difference',
                    title: str = 'ER a - b (points)') -> pd.DataFrame:
  """Pairwise differences (of group means, or of lines with value='distance') as text."""
  return pd.DataFrame({
      'group a': differences['group_a'], 'group b': differences['group_b'],
      title: [summary.with_interval(*v, signed=True) for v in zip(
          differences[value], differences['low'], differences['high'])],
      f'{verdicts.equivalence_level(level):.0%} interval': [
          summary.interval_text(*v, signed=True) for v in zip(
              differences['equivalence_low'], differences['equivalence_high'])],
      'verdict': differences['verdict']})


def _trend_text(analysis: pipeline.Analysis) -> str:
  trend = analysis.trend
  (a_low, a_high), (b_low, b_high) = analysis.trend_samples.intervals(analysis.level)
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
Differences between groups share trend resamples, so the trend's uncertainty mostly cancels.
A group's own line: its models' scatter around it, resampled as the trend's (its models' ID
scores fixed); two lines are compared by their mean vertical distance over the ID range both
groups cover.

Verdicts (for each group against the trend and each pair of groups or lines): `equivalent` is
two one-sided tests at {alpha:.0%} against the margin, and a resolved difference smaller than the
margin is `equivalent` too. Measured error rates: jaxrobust/analysis/README.md."""


_HOW_TO_READ = """How to read it: effective robustness (ER) is how far a model's OOD score sits above the
line that models trained from scratch follow (OOD against ID), in points of the metric; 0 means
no more robust than scratch. Each finding compares a pre-training group with that line, or two
groups with each other, and ends in a verdict: `different` (the {level:.0%} interval excludes 0),
`equivalent` (the {inner:.0%} interval lies within ±{margin:g} points, the margin that
`--equivalence_margin` sets: no effect larger than it) or `inconclusive` (neither: more models
are needed, see `python -m jaxrobust.analysis power`)."""


def save_report(analysis: pipeline.Analysis, out_dir, inputs: Sequence[str] = (),
                about: Sequence[str] = ()) -> str:
  """Writes the tables, figures and report.md of `analysis` into `out_dir`; returns report.md.

  `about`: the header lines (what was analysed; `about_lines`).
  """
  out = load.open_path(out_dir)
  try:
    out.mkdir(parents=True, exist_ok=True)
    for name, df in (('er_table', analysis.table), ('group_table', analysis.groups),
                     ('group_differences', analysis.differences),
                     ('line_differences', analysis.line_differences),
                     ('skipped', analysis.skipped)):
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
  md = ['# Effective robustness report', '']
  md += [f'- {line}' for line in about] + ([''] if about else [])
  md += [_HOW_TO_READ.format(margin=analysis.margin, level=analysis.level,
                             inner=verdicts.equivalence_level(analysis.level)), '']
  md += ['## Findings', '']
  md += [f'- {line}' for line in summary.findings(analysis)] + ['']
  if inputs:
    md += ['Results: ' + ', '.join(f'`{p}`' for p in inputs), '']
  md += [f'Metric: {metric} (ID split `{analysis.id_split}`, OOD split `{analysis.ood_split}`). '
         f'{len(analysis.table)} models, {len(analysis.groups)} groups'
         + (f' by {", ".join(analysis.group_by)}' if analysis.group_by else '') + '. '
         + _SELECTION_TEXT.get(analysis.selection, f'Model selection: {analysis.selection}.')
         .format(split=analysis.selection_split or 'validation'),
         '',
         '## Baseline trend', '', _trend_text(analysis), '',
         '![OOD vs ID](id_vs_ood.png)', '']
  if analysis.notes:
    md += ['## Caveats', ''] + [f'- {n}' for n in analysis.notes] + ['']
  md += ['## What the intervals cover', '', _COVERAGE_TEXT.format(
      level=analysis.level, resamples=analysis.num_resamples, seed=analysis.seed,
      alpha=1 - analysis.level), '']
  md += ['## Groups', '', 'Mean ER over the group\'s models, in OOD points above the baseline '
         'trend (`group_table.csv`).', '', markdown_table(summary.group_rows(analysis)), '']
  md += [f'![ER vs {name[len("er_vs_"):]}]({name}.png)' for name in figures if name != 'id_vs_ood']
  for title, df, csv, value, header in (
      ('Differences between groups', analysis.differences, 'group_differences.csv',
       'er_difference', 'ER a - b (points)'),
      ('Differences between group lines (mean vertical distance over the common ID range)',
       analysis.line_differences, 'line_differences.csv', 'distance', 'line a - b (points)')):
    if len(df):
      md += ['', f'### {title}', '']
      md += [markdown_table(difference_rows(df, analysis.level, value, header))
             if len(df) <= MAX_DIFFERENCE_ROWS else f'{len(df)} pairs: see `{csv}`.']
  md += ['', '## Models', '', 'ID/OOD in %, ER in points, intervals in brackets '
         '(`er_table.csv` holds the same in fractions and points).', '',
         markdown_table(model_rows(analysis.table)), '']
  if len(analysis.skipped):
    md += ['## Skipped runs', '', markdown_table(analysis.skipped[['run_id', 'reason']]), '']
  path = out / 'report.md'
  path.write_text('\n'.join(md))
  return str(path)


SETTINGS_FILE = 'settings.json'  # in a report folder: what it was made with, and by whom


def report_settings(selection: str | None = None, metric: str = 'macro_f1',
                    transform: str = 'logit', baseline: str | None = None,
                    group_by: Sequence[str] | None = None,
                    num_resamples: int = bootstrap.NUM_RESAMPLES, level: float = 0.95,
                    seed: int = 0, equivalence_margin: float = verdicts.DEFAULT_MARGIN
                    ) -> dict[str, Any]:
  """Every setting that changes a report's numbers, defaults filled in (JSON-able)."""
  return {'selection': selection, 'metric': metric, 'transform': transform,
          'baseline': baseline, 'group_by': None if group_by is None else list(group_by),
          'num_resamples': int(num_resamples), 'level': float(level), 'seed': int(seed),
          'equivalence_margin': float(equivalence_margin)}


def settings_name(settings: Mapping[str, Any]) -> str:
  """A folder name that tells the settings apart, e.g. 'accuracy-logit-margin2'."""
  defaults = report_settings()
  parts = [settings['metric'], settings['transform']]
  if settings['selection']:
    parts.append(settings['selection'])
  parts.append(f'margin{settings["equivalence_margin"]:g}')
  if settings['group_by'] is not None:
    parts.append('by-' + '+'.join(c.removeprefix('pretrain.') for c in settings['group_by']))
  rest = {k: v for k, v in settings.items()
          if k in ('baseline', 'num_resamples', 'level', 'seed') and v != defaults[k]}
  if rest:
    digest = hashlib.sha256(json.dumps(rest, sort_keys=True).encode()).hexdigest()[:8]
    parts.append(digest)
  return '-'.join(parts)


def report_dir(inputs: Sequence[str], out: str | None, settings: Mapping[str, Any]) -> str:
  """`out`, else DIR/reports/<settings name> when `inputs` is one workdir DIR.

  DIR/report is the study's own report; the analysis CLI never writes there by default.
  """
  if out:
    return out
  if len(inputs) == 1 and not inputs[0].endswith('.csv'):
    return str(load.open_path(inputs[0]) / 'reports' / settings_name(settings))
  raise errors.AnalysisError(
      f'Pass --out=DIR: the default (DIR/reports/<settings>) needs exactly one study workdir, '
      f'got {len(inputs)} input(s) {", ".join(inputs)}.')


def recorded_settings(out_dir) -> dict[str, Any] | None:
  """The settings.json of a report folder, or None."""
  path = load.open_path(out_dir) / SETTINGS_FILE
  return json.loads(path.read_text()) if path.exists() else None


def check_not_a_study_report(out_dir, settings: Mapping[str, Any]) -> None:
  """Refuses to overwrite a study's own report with a report made with other settings."""
  recorded = recorded_settings(out_dir)
  if recorded and recorded.get('made_by') == 'study' and recorded['settings'] != settings:
    raise errors.AnalysisError(
        f'{out_dir} is a study\'s own report, made with other settings; write this one '
        'elsewhere (--out, or no --out: DIR/reports/<settings>).')


def write_report(inputs: str | Sequence[str], out_dir, selection: str | None = None,
                 made_by: str = 'analysis', **options: Any) -> pipeline.Analysis:
  """Loads results (workdirs / results.csv), analyses them and saves the report in `out_dir`.

  `selection`: the model selection rule whose models to analyse (load.apply_selection; None:
  the one each result.json reports). `options` go to `pipeline.analyze` (metric, transform,
  baseline, group_by, num_resamples, level, seed, equivalence_margin). `made_by` ('study' or
  'analysis') and the settings go into the folder's settings.json.
  """
  inputs = [inputs] if isinstance(inputs, str) else [str(p) for p in inputs]
  settings = report_settings(selection, **options)
  check_not_a_study_report(out_dir, settings)
  df = load.load_results(inputs)
  if selection is not None:
    df = load.apply_selection(df, selection)
  analysis = pipeline.analyze(df, **options)
  save_report(analysis, out_dir, inputs, about=about_lines(df, analysis, inputs))
  (load.open_path(out_dir) / SETTINGS_FILE).write_text(json.dumps(
      {'made_by': made_by, 'settings': settings}, indent=1, sort_keys=True) + '\n')
  return analysis


def _code_version() -> str:
  """The package version, with the git commit when the package runs from a checkout."""
  try:
    version = importlib.metadata.version('jaxrobust')
  except importlib.metadata.PackageNotFoundError:
    version = 'unknown'
  root = pathlib.Path(__file__).resolve().parents[2]
  try:
    commit = subprocess.run(['git', '-C', str(root), 'rev-parse', '--short', 'HEAD'],
                            capture_output=True, text=True, timeout=10, check=True).stdout.strip()
  except (OSError, subprocess.SubprocessError):
    commit = ''
  return f'jaxrobust {version}' + (f' (git {commit})' if commit else '')


def _studies(inputs: Sequence[str]) -> list[str]:
  """'<study> (configs/<study>.py, scale <s>, data_seed <n>)' of each input's study.json."""
  found = []
  for name in inputs:
    path = load.open_path(name)
    folder = path.parent if name.endswith('.csv') else path
    if (folder / 'study.json').exists():
      study = json.loads((folder / 'study.json').read_text())
      found.append(f'{study.get("study")} (configs/{study.get("study")}.py, scale '
                   f'{study.get("scale")}, data_seed {study.get("data_seed")}): '
                   f'{study.get("description", "")}')
  return found


def about_lines(df: pd.DataFrame, analysis: pipeline.Analysis,
                inputs: Sequence[str] = ()) -> list[str]:
  """The report's header: what was analysed, with which data, splits and settings."""
  def values(column: str) -> str:
    if column not in df.columns:
      return 'n/a'
    found = sorted({str(v) for v in df[column].dropna()})
    return ', '.join(found) if found else 'n/a'

  studies = _studies(inputs)
  return [
      'study: ' + ('; '.join(studies) if studies else values('study')),
      f'fine-tune benchmark: {values("finetune.dataset")}; ID split `{analysis.id_split}`, '
      f'OOD split `{analysis.ood_split}`',
      f'pre-training data: {values("pretrain.source")}',
      f'model selection: {analysis.selection or "as each result.json reports"}; metric: '
      f'{analysis.metric}; trend on {analysis.transform} axes; equivalence margin '
      f'{analysis.margin:g} ER points',
      f'code: {_code_version()}']
