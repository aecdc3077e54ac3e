"""The analysis in words: findings (trend, groups, comparisons) and the group table as text."""
import numpy as np
import pandas as pd

from jaxrobust.analysis import groups as groups_lib
from jaxrobust.analysis import pipeline
from jaxrobust.analysis import verdicts

_METRIC_NAMES = {'macro_f1': 'macro-F1', 'accuracy': 'accuracy'}


def metric_name(metric: str) -> str:
  """A metric as readers write it: 'macro-F1'."""
  return _METRIC_NAMES.get(metric, metric)


def sized(group: str, n_models: int, n_pretrained: int = 1) -> str:
  """A group label with its size: '2,000 images (3 models)', '500 images (1 model)', and
  '(8 models from 4 pre-training runs)' when its models come from several pre-trained ones."""
  runs = f' from {n_pretrained} pre-training runs' if 1 < n_pretrained < n_models else ''
  return f'{group} ({n_models} model{"s" * (n_models != 1)}{runs})'


def with_interval(value, low, high, scale: float = 1.0, signed: bool = False) -> str:
  """'52.3 [50.1, 54.6]', or '+4.1 [+1.2, +7.0]' when signed (no brackets when unknown)."""
  text = f'{scale * value:{"+.1f" if signed else ".1f"}}'
  if np.isfinite(low) and np.isfinite(high):
    text += ' ' + interval_text(low, high, scale, signed)
  return text


def interval_text(low, high, scale: float = 1.0, signed: bool = False) -> str:
  """'[50.1, 54.6]', or '[+1.2, +7.0]' when signed."""
  spec = '+.1f' if signed else '.1f'
  return f'[{_bound(scale * low, spec)}, {_bound(scale * high, spec)}]'


def _bound(x: float, spec: str) -> str:
  """`x` in `spec`, with more decimals where it would round to 0 (so '+0.04', not '+0.0')."""
  for decimals in (1, 2, 3):
    text = f'{x:{spec.replace(".1", f".{decimals}")}}'
    if float(text) != 0 or x == 0:
      return text
  return text


def verdict_text(verdict: str, low: float, high: float, equivalence_low: float,
                 equivalence_high: float, margin: float, level: float) -> str:
  """A verdict with its reason: 'different (the 95% interval excludes 0)'."""
  inner = f'{verdicts.equivalence_level(level):.0%} interval'
  bounds = interval_text(equivalence_low, equivalence_high, signed=True)
  within = f'the {inner} {bounds} lies within ±{margin:g}'
  if verdict == verdicts.EQUIVALENT and verdicts.resolved(low, high):
    return (f'equivalent: resolved but smaller than the margin of {margin:g} points (the '
            f'{level:.0%} interval excludes 0, {within})')
  if verdict == verdicts.EQUIVALENT:
    return f'equivalent within ±{margin:g} points ({within})'
  if verdict == verdicts.DIFFERENT:
    return f'different (the {level:.0%} interval excludes 0)'
  return (f'inconclusive (the {level:.0%} interval includes 0 and the {inner} {bounds} '
          f'reaches beyond ±{margin:g})')


def _judged_text(row, level: float, prefix: str = '') -> str:
  """verdict_text of a table row holding `verdict`, `margin` and the interval columns."""
  return verdict_text(row.verdict, getattr(row, f'{prefix}low'), getattr(row, f'{prefix}high'),
                      row.equivalence_low, row.equivalence_high, row.margin, level)


def group_rows(analysis: pipeline.Analysis) -> pd.DataFrame:
  """The per-group table as text, its ER column naming the metric: 'ER (macro-F1 points)'."""
  groups = analysis.groups
  return pd.DataFrame({
      'group': groups['group'], 'models': groups['n_models'],
      'mean ID %': [f'{100 * v:.1f}' for v in groups['id_mean']],
      'mean OOD %': [f'{100 * v:.1f}' for v in groups['ood_mean']],
      f'ER ({metric_name(analysis.metric)} points)': [
          with_interval(*v, signed=True) for v in zip(
              groups['er'], groups['er_low'], groups['er_high'])],
      'verdict vs trend': groups['verdict'].fillna('-'),
      'own line slope': [_plain_interval(*v) for v in zip(
          groups['slope'], groups['slope_low'], groups['slope_high'])],
      'own line intercept': [_plain_interval(*v) for v in zip(
          groups['intercept'], groups['intercept_low'], groups['intercept_high'])],
  })


def _plain_interval(value: float, low: float, high: float) -> str:
  """'1.04 [0.90, 1.29]', or '-' without a value."""
  return f'{value:.2f} [{low:.2f}, {high:.2f}]' if np.isfinite(value) else '-'


def console_group_table(analysis: pipeline.Analysis) -> str:
  """The group table as fixed-width text for a terminal."""
  return group_rows(analysis).to_string(index=False)


def _trend_findings(analysis: pipeline.Analysis) -> list[str]:
  trend, name = analysis.trend, analysis.transform
  (a_low, a_high), (b_low, b_high) = analysis.trend_samples.intervals(analysis.level)
  lines = [f'Baseline trend ({int(analysis.table["baseline"].sum())} models, '
           f'{analysis.baseline}): {name}(OOD) = a * {name}(ID) + b with slope a = '
           f'{trend.slope:.2f} [{a_low:.2f}, {a_high:.2f}], intercept b = {trend.intercept:.2f} '
           f'[{b_low:.2f}, {b_high:.2f}].']
  if not verdicts.resolved(a_low, a_high):
    lines.append('Trend undetermined: the slope\'s interval includes 0, so the baseline '
                 'models\' ID scores do not pin down their OOD scores; every ER below is '
                 'measured from an uncertain line. Train more scratch runs over a wider range '
                 'of ID scores.')
  return lines


def _pretrained(analysis: pipeline.Analysis) -> pd.DataFrame:
  return analysis.groups[analysis.groups['group'] != groups_lib.SCRATCH_GROUP]


def _group_findings(analysis: pipeline.Analysis) -> list[str]:
  points = f'OOD {metric_name(analysis.metric)} points'
  lines, coverage = [], _coverage(analysis)
  for g in _pretrained(analysis).itertuples():
    subject = f'Pre-training on {g.group}' if analysis.group_by else f'All {g.group} models'
    where = ('above' if g.er_low > 0 else 'below') if verdicts.resolved(
        g.er_low, g.er_high) else 'relative to'
    lines.append(f'{sized(subject, g.n_models, g.n_pretrained)}: '
                 f'{with_interval(g.er, g.er_low, g.er_high, signed=True)} {points} {where} '
                 f'the baseline trend; {_judged_text(g, analysis.level, "er_")}.'
                 + _coverage_text(coverage.get(g.group)))
  return lines


def _coverage(analysis: pipeline.Analysis) -> dict[str, str]:
  """Group -> 'K/N', the fine-tune dataset's classes its pre-training images include."""
  groups = analysis.groups
  if 'benchmark_classes' not in groups:
    return {}
  return {g: c for g, c in zip(groups['group'], groups['benchmark_classes']) if not pd.isna(c)}


def _coverage_text(coverage: str | None) -> str:
  """' Its pre-training images include 5 of the fine-tune dataset's 8 classes.' or ''."""
  if coverage is None:
    return ''
  covered, total = coverage.split('/')
  return f" Its pre-training images include {covered} of the fine-tune dataset's {total} classes."


def oriented(differences: pd.DataFrame, a: str, b: str, value: str) -> pd.Series | None:
  """The row of pair (a, b) as a minus b, whichever order it is stored in; None if absent.

  `value` names the difference column; a row stored as b minus a is negated, its
  interval bounds swapped.
  """
  pair = differences[(differences['group_a'] == a) & (differences['group_b'] == b)]
  if len(pair):
    return pair.iloc[0]
  pair = differences[(differences['group_a'] == b) & (differences['group_b'] == a)]
  if not len(pair):
    return None
  row = pair.iloc[0].copy()
  row['group_a'], row['group_b'], row[value] = a, b, -row[value]
  for low, high in (('low', 'high'), ('equivalence_low', 'equivalence_high')):
    row[low], row[high] = -pair.iloc[0][high], -pair.iloc[0][low]
  return row


def _comparisons(analysis: pipeline.Analysis) -> list[tuple[str, str, str, str]]:
  """(column, how, group a, group b): groups that differ in one group_by column only.

  For a numeric column, its largest minus its smallest value (each group at either end,
  where placebo parts share a value); else every pair. Placebo parts are draws of one
  distribution, so they do not set groups apart when another column is compared.
  """
  groups, out = _pretrained(analysis), []
  for column in analysis.group_by:
    alike_in = [c for c in analysis.group_by if c == column or c not in groups_lib.DRAW_COLUMNS]
    for same in groups_lib.alike_but(groups, column, alike_in):
      same = same.dropna(subset=[column])
      if same[column].nunique() < 2:
        continue
      if pd.api.types.is_numeric_dtype(same[column]):
        largest = same.loc[same[column] == same[column].max(), 'group']
        smallest = same.loc[same[column] == same[column].min(), 'group']
        out += [(column, 'largest minus smallest', a, b) for a in largest for b in smallest]
      else:
        labels = same['group'].tolist()
        out += [(column, '', a, b) for i, a in enumerate(labels) for b in labels[i + 1:]]
  return out


def _coverage_difference(a: str | None, b: str | None) -> str:
  """A caveat when two groups' images include different numbers of the fine-tune classes."""
  if a is None or b is None or a == b:
    return ''
  return (f" Their pre-training images include {a} and {b} of the fine-tune dataset's classes: "
          'part of the difference may come from those classes, not from the setting.')


def _comparison_findings(analysis: pipeline.Analysis) -> list[str]:
  lines, level = [], analysis.level
  coverage = _coverage(analysis)
  for column, how, a, b in _comparisons(analysis):
    d = oriented(analysis.differences, a, b, 'er_difference')
    title = groups_lib.column_title(column)
    title = title[0].upper() + title[1:] + (f', {how}' if how else '')
    lines.append(f'{title} ({a} minus {b}): '
                 f'{with_interval(d.er_difference, d.low, d.high, signed=True)} ER points '
                 f'({metric_name(analysis.metric)}); {_judged_text(d, level)}.'
                 + _coverage_difference(coverage.get(a), coverage.get(b)))
    line = oriented(analysis.line_differences, a, b, 'distance')
    if line is not None:
      lines.append(f'Their lines ({a} minus {b}, mean vertical distance over ID '
                   f'{100 * line.id_from:.1f}-{100 * line.id_to:.1f}%): '
                   f'{with_interval(line.distance, line.low, line.high, signed=True)} OOD '
                   f'points; {_judged_text(line, level)}.')
  return lines


def _few_model_findings(analysis: pipeline.Analysis) -> list[str]:
  few = _pretrained(analysis)
  few = few[few['n_models'] < groups_lib.MIN_GROUP_MODELS]
  if not len(few):
    return []
  listed = ', '.join(sized(g.group, g.n_models) for g in few.itertuples())
  return [f'Fewer than {groups_lib.MIN_GROUP_MODELS} models in: {listed}. Their intervals '
          f'understate the spread between runs and they get no line of their own; run more '
          f'fine-tuning seeds.']


def _one_pretraining_findings(analysis: pipeline.Analysis) -> list[str]:
  once = _pretrained(analysis)
  once = once[(once['n_pretrained'] == 1) & (once['n_models'] > 1)]
  if not len(once):
    return []
  return [f'One pre-training run in: {", ".join(once["group"])}. Their intervals hold the '
          f'spread of fine-tuning and test-set noise from that one pre-trained model, not the '
          f'chance of pre-training itself (which images, which seed); pre-train each setting '
          f'with several seeds to include it.']


def findings(analysis: pipeline.Analysis) -> list[str]:
  """The findings in plain words, one sentence each, from the numbers of `analysis`.

  The trend (with 'Trend undetermined' when its slope's interval includes 0), each
  pre-trained group's mean ER against it, the groups that differ in one setting only
  (largest minus smallest for a number) and their lines, each with its verdict
  (different, equivalent or inconclusive, verdicts.py), a warning for groups of fewer than
  MIN_GROUP_MODELS models, and one for groups fine-tuned from a single pre-trained model.
  Where the results record it, a group's finding says how many of the fine-tune dataset's
  classes its pre-training images include, and a comparison of groups that include different
  numbers says so.
  """
  return [*_trend_findings(analysis), *_group_findings(analysis),
          *_comparison_findings(analysis), *_few_model_findings(analysis),
          *_one_pretraining_findings(analysis)]
