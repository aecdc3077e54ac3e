"""Pre-training settings as groups: labels, a line per group, mean ER with interval."""
from collections.abc import Sequence
import itertools

import numpy as np
import pandas as pd

from jaxrobust.analysis import bootstrap
from jaxrobust.analysis import errors
from jaxrobust.analysis import trend as trend_lib

SCRATCH_GROUP = 'scratch'
_NOT_SETTINGS = ('pretrain.seed',)  # replicates of a setting, not a setting


def default_group_by(df: pd.DataFrame) -> list[str]:
  """The `pretrain.*` columns (seed excluded) that tell pre-trained models apart.

  In schema order; a column that splits no group of the columns already chosen
  (e.g. images_per_class when it follows from num_examples) is left out.
  """
  pretrained = df[df['kind'] != 'scratch'] if 'kind' in df else df
  chosen = []
  for column in df.columns:
    if not column.startswith('pretrain.') or column in _NOT_SETTINGS:
      continue
    before = len(pretrained.groupby(chosen, dropna=False)) if chosen else 1
    if len(pretrained.groupby([*chosen, column], dropna=False)) > before:
      chosen.append(column)
  return chosen


def check_group_by(df: pd.DataFrame, group_by: Sequence[str]) -> None:
  """Raises a clear error for a group_by column that the results do not have."""
  missing = [c for c in group_by if c not in df.columns]
  if missing:
    available = [c for c in df.columns if c.startswith('pretrain.')]
    raise errors.AnalysisError(
        f'No column {missing} in the results (--group_by); pre-training columns are '
        f'{available}.')


def format_value(value) -> str:
  """A group value as short text: 25000 rather than 25000.0."""
  if isinstance(value, (float, np.floating)) and float(value).is_integer():
    return str(int(value))
  return str(value)


def group_labels(df: pd.DataFrame, group_by: Sequence[str]) -> pd.Series:
  """One label per row: 'scratch', or 'name=value, ...' over `group_by` (else the kind)."""
  def label(row):
    if row.get('kind') == 'scratch':
      return SCRATCH_GROUP
    if not group_by:
      return str(row.get('kind', 'all'))
    return ', '.join(f'{c.removeprefix("pretrain.")}={format_value(row[c])}' for c in group_by)
  return df.apply(label, axis=1) if len(df) else pd.Series([], dtype=object)


def mean_replicates(member_replicates: np.ndarray, rng: np.random.Generator) -> np.ndarray:
  """(B,) replicates of a group mean from (k, B) member replicates.

  Two-stage bootstrap: members are resampled with replacement (the spread between
  runs of one setting), each picked member contributes its own replicate (its
  test-set noise), and replicate b of every member shares trend resample b.
  """
  k, num_resamples = member_replicates.shape
  if k == 1:
    return member_replicates[0]
  members = rng.integers(0, k, size=(num_resamples, k))
  return member_replicates[members, np.arange(num_resamples)[:, None]].mean(axis=1)


def group_table(table: pd.DataFrame, er_replicates: dict[str, np.ndarray],
                group_by: Sequence[str], transform: str, level: float = 0.95,
                seed: int = 0) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
  """Per group: size, mean ID/OOD/ER, the ER interval and the group's own line.

  Returns the table (scratch first, then in order of the group_by values) and
  each group's (B,) mean-ER replicates.
  """
  rows, replicates = [], {}
  for label, members in table.groupby('group', sort=False):
    reps = np.stack([er_replicates[r] for r in members['run_id']])
    replicates[label] = mean_replicates(reps, bootstrap.rng_for(seed, f'group:{label}'))
    low, high = bootstrap.percentile_interval(replicates[label], level)
    try:
      line = trend_lib.fit_trend(members['id'], members['ood'], transform)
      slope, intercept = line.slope, line.intercept
    except errors.AnalysisError:  # a single point or one ID score: no line for this group
      slope = intercept = np.nan
    rows.append({
        'group': label, **{c: members[c].iloc[0] for c in group_by},
        'n_models': len(members), 'id_mean': members['id'].mean(),
        'ood_mean': members['ood'].mean(), 'er': members['er'].mean(),
        'er_low': float(low), 'er_high': float(high), 'slope': slope, 'intercept': intercept,
    })
  groups = pd.DataFrame(rows)
  groups['_scratch'] = groups['group'] != SCRATCH_GROUP
  groups = groups.sort_values(['_scratch', *group_by], kind='stable', na_position='first')
  return groups.drop(columns='_scratch').reset_index(drop=True), replicates


def group_differences(groups: pd.DataFrame, replicates: dict[str, np.ndarray],
                      level: float = 0.95) -> pd.DataFrame:
  """Mean ER of group a minus group b, with interval, for each pair of pre-trained groups.

  Both means use the same trend resamples, so the trend's uncertainty largely
  cancels in the difference.
  """
  labels = [g for g in groups['group'] if g != SCRATCH_GROUP]
  er = dict(zip(groups['group'], groups['er']))
  rows = []
  for a, b in itertools.combinations(labels, 2):
    low, high = bootstrap.percentile_interval(replicates[a] - replicates[b], level)
    rows.append({'group_a': a, 'group_b': b, 'er_difference': er[a] - er[b],
                 'low': float(low), 'high': float(high)})
  return pd.DataFrame(rows, columns=['group_a', 'group_b', 'er_difference', 'low', 'high'])
