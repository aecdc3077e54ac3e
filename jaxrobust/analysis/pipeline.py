"""The whole effective-robustness analysis of a results table, with bootstrap intervals.

What the intervals cover (bootstrap percentiles, `level` = 95% by default):
- id / ood: the model's test sets, resampled with replacement example by example
  (ID and OOD independently), from `predictions_<split>.npz`.
- expected_ood and the trend band: the baseline models' scatter around the line
  (which includes their own test-set noise), by a studentized (bootstrap-t)
  residual bootstrap, so the band widens like the t band of OLS with few models.
- er: both at once: replicate b pairs the model's b-th ID and OOD test resamples
  with the b-th trend resample. A model without predictions files gets the
  trend part only (column `interval_covers` says which); `er_test_sd` is the
  sd of its ER over the test resamples alone (the trend fixed).
- group er (mean over a group's models): additionally resamples the group's
  models, so it covers the spread between runs of one setting (conservative
  with 4 runs; with 2 runs resampling them understates that spread).
- a group's own line: its models' scatter around it, resampled as the trend's.
Each group against the trend, each pair of groups and each pair of lines gets a verdict
(verdicts.py): different, equivalent within `equivalence_margin` ER points, or inconclusive.
Measured coverage and verdict error rates: README.md in this folder.
"""
from collections.abc import Callable, Sequence
import dataclasses
import itertools
import json

from absl import logging
import numpy as np
import pandas as pd

from jaxrobust.analysis import bootstrap
from jaxrobust.analysis import groups as groups_lib
from jaxrobust.analysis import lines as lines_lib
from jaxrobust.analysis import load
from jaxrobust.analysis import trend as trend_lib
from jaxrobust.analysis import verdicts

FEW_BASELINE_MODELS = 5  # coverage of the trend band measured from here up (README.md)
Predictions = Callable[[pd.Series, str], tuple[np.ndarray, np.ndarray] | None]


@dataclasses.dataclass
class Analysis:
  """Everything the report shows: trend, its resamples, per-model and per-group tables."""
  metric: str
  transform: str
  level: float
  trend: trend_lib.Trend
  trend_samples: bootstrap.TrendSamples
  table: pd.DataFrame        # one row per model (er_table.csv)
  groups: pd.DataFrame       # one row per group (group_table.csv)
  differences: pd.DataFrame  # pairs of pre-trained groups (group_differences.csv)
  group_by: list[str]
  skipped: pd.DataFrame      # rows without the metric, with the reason
  notes: list[str]           # caveats the reader must see
  id_split: str = 'id_test'
  ood_split: str = 'test'
  num_resamples: int = bootstrap.NUM_RESAMPLES
  seed: int = 0
  baseline: str = "kind == 'scratch'"  # how the baseline rows were chosen
  selection: str | None = None  # the model selection rule of the rows (None: not recorded)
  margin: float = verdicts.DEFAULT_MARGIN  # equivalence margin of the verdicts, ER points
  group_lines: dict[str, lines_lib.GroupLine] = dataclasses.field(default_factory=dict)
  line_differences: pd.DataFrame | None = None  # pairs of group lines (line_differences.csv)
  selection_split: str | None = None  # the split that rule maximizes (None: not recorded)


def _split_name(df: pd.DataFrame, column: str, default: str) -> str:
  values = df[column].dropna().unique() if column in df else []
  return str(values[0]) if len(values) == 1 else default


def _model_intervals(row: pd.Series, id_split: str, ood_split: str, metric: str,
                     trend: trend_lib.Trend, samples: bootstrap.TrendSamples,
                     predictions: Predictions,
                     num_resamples: int, level: float, seed: int, notes: list[str]):
  """(interval columns, (B,) ER replicates in points) of one model."""
  id_column, ood_column = load.metric_columns(metric)
  rng = bootstrap.rng_for(seed, str(row['run_id']))
  scores, covered = {}, []
  for name, split, column in (('id', id_split, id_column), ('ood', ood_split, ood_column)):
    reported = float(row[column])
    arrays = predictions(row, split)
    if arrays is None:
      scores[name] = np.full(num_resamples, reported)
      continue
    recomputed, scores[name] = bootstrap.metric_replicates(*arrays, metric, num_resamples, rng)
    covered.append(f'{name.upper()} test examples')
    if abs(recomputed - reported) > 1e-6:
      notes.append(f'{row["run_id"]}: {metric} recomputed from predictions_{split}.npz '
                   f'({recomputed:.6f}) differs from result.json ({reported:.6f}).')
  er = 100 * (scores['ood'] - samples.expected_ood_paired(scores['id']))
  test_only = 100 * (scores['ood'] - trend.expected_ood(scores['id']))
  columns = {'er_test_sd': float(np.std(test_only))}
  for name, replicates in (('id', scores['id']), ('ood', scores['ood']), ('er', er)):
    columns[f'{name}_low'], columns[f'{name}_high'] = map(
        float, bootstrap.percentile_interval(replicates, level))
  if not covered:
    columns['id_low'] = columns['id_high'] = columns['ood_low'] = columns['ood_high'] = np.nan
  columns['interval_covers'] = ' + '.join(covered + ['trend'])
  return columns, er


def _skipped_eval_notes(df: pd.DataFrame) -> list[str]:
  """A caveat per evaluation split that the dataset build shrank (skipped unreadable images)."""
  notes = []
  for column in sorted(c for c in df.columns if c.startswith('skipped_eval_images.')):
    counts = {len(json.loads(v)) for v in df[column].dropna()}
    if counts - {0}:
      notes.append(f'Evaluation split `{column.split(".", 1)[1]}` lacks {max(counts)} unreadable '
                   f'image(s) the dataset build skipped (opt-in): every model is compared on '
                   f'the smaller set; the files are listed in result.json.')
  return notes


def analyze(df: pd.DataFrame, metric: str = 'macro_f1', transform: str = 'logit',
            baseline: trend_lib.Baseline = None, group_by: Sequence[str] | None = None,
            num_resamples: int = bootstrap.NUM_RESAMPLES, level: float = 0.95, seed: int = 0,
            predictions: Predictions = load.load_predictions,
            equivalence_margin: float = verdicts.DEFAULT_MARGIN) -> Analysis:
  """Fits the baseline trend, each model's ER, each group's mean ER and line, with intervals."""
  margin = verdicts.check_margin(equivalence_margin)
  complete, skipped = load.split_complete(df, metric)
  notes = [f'{len(skipped)} run(s) without {metric} skipped: {", ".join(skipped["run_id"])}.'
           ] if len(skipped) else []
  trend = trend_lib.fit_baseline_trend(complete, metric, transform, baseline)
  is_baseline = trend_lib.select_baseline(complete, baseline)
  id_column, ood_column = load.metric_columns(metric)
  samples = bootstrap.bootstrap_trend(
      complete.loc[is_baseline, id_column], complete.loc[is_baseline, ood_column], transform,
      num_resamples, seed)
  num_baseline = is_baseline.sum()
  if num_baseline == 2:
    notes.append('Only 2 baseline models: their scatter around the trend cannot be estimated, '
                 'so the trend band has zero width and ER intervals cover test-set noise only; '
                 'train more scratch runs (configs/scratch.py).')
  elif num_baseline < FEW_BASELINE_MODELS:
    notes.append(f'Only {num_baseline} baseline models: the trend band is wide and its coverage '
                 f'rests on a roughly symmetric scatter of equal size along the line (simulated '
                 f'coverage of the 95% band: 0.94 with 3 models, 0.98 with 4); train more '
                 f'scratch runs (configs/scratch.py).')

  group_by = groups_lib.default_group_by(complete) if group_by is None else list(group_by)
  groups_lib.check_group_by(complete, group_by)
  table = trend_lib.effective_robustness(complete, trend, metric)
  table.insert(2, 'group', groups_lib.group_labels(complete, group_by).to_numpy())
  table.insert(3, 'baseline', is_baseline)
  for i, column in enumerate(group_by):
    table.insert(4 + i, column, complete[column].to_numpy())
  table.insert(4 + len(group_by), groups_lib.PRETRAINED_MODEL,
               groups_lib.backbones(complete).to_numpy())

  notes += _skipped_eval_notes(complete)
  id_split = _split_name(complete, 'metrics.id.split', 'id_test')
  ood_split = _split_name(complete, 'metrics.ood.split', 'test')
  expected_low, expected_high = bootstrap.percentile_interval(
      samples.expected_ood(table['id'].to_numpy()), level)
  rows, er_replicates = [], {}
  for (_, row), run_id in zip(complete.iterrows(), table['run_id']):
    columns, er_replicates[run_id] = _model_intervals(
        row, id_split, ood_split, metric, trend, samples, predictions, num_resamples, level, seed,
        notes)
    rows.append(columns)
  intervals = pd.DataFrame(rows)
  table = pd.concat([table, intervals], axis=1)
  table['expected_ood_low'], table['expected_ood_high'] = expected_low, expected_high
  table = table[[*table.columns[:5 + len(group_by)], 'id', 'id_low', 'id_high', 'ood', 'ood_low',
                 'ood_high', 'expected_ood', 'expected_ood_low', 'expected_ood_high', 'er',
                 'er_low', 'er_high', 'er_test_sd', 'interval_covers']]
  without = (table['interval_covers'] == 'trend').sum()
  if without:
    notes.append(f'{without} model(s) have no predictions_*.npz: their ER interval covers the '
                 f'trend uncertainty only.')

  groups, group_replicates = groups_lib.group_table(
      table, er_replicates, group_by, margin, level, seed)
  groups['benchmark_classes'] = groups['group'].map(
      groups_lib.benchmark_coverage(complete, table['group']))
  differences = groups_lib.group_differences(groups, group_replicates, margin, level)
  group_lines = lines_lib.fit_group_lines(table, transform, num_resamples, seed)
  groups = pd.concat([groups, pd.DataFrame(
      [lines_lib.line_columns(group_lines.get(g), level) for g in groups['group']])], axis=1)
  pretrained = [g for g in groups['group'] if g != groups_lib.SCRATCH_GROUP]
  line_differences = lines_lib.line_differences(group_lines, pretrained, transform, margin,
                                                level)
  compared = {frozenset(pair) for pair in zip(line_differences['group_a'],
                                              line_differences['group_b'])}
  apart = [f'{a} / {b}' for a, b in itertools.combinations(
      [g for g in pretrained if g in group_lines], 2) if frozenset((a, b)) not in compared]
  if apart:
    notes.append(f'No common ID range, so their lines are not compared: {", ".join(apart)}.')
  for note in notes:
    logging.warning('%s', note)
  return Analysis(metric, transform, level, trend, samples, table, groups, differences,
                  group_by, skipped, notes, id_split, ood_split, num_resamples, seed,
                  baseline if isinstance(baseline, str) else (
                      "kind == 'scratch'" if baseline is None else 'custom selection'),
                  _split_name(complete, 'selection.rule', None), margin, group_lines,
                  line_differences, _split_name(complete, 'selection.split', None))
