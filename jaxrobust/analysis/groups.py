"""Pre-training settings as groups: labels, mean ER with interval and verdict, differences."""
from collections.abc import Sequence
import itertools

import numpy as np
import pandas as pd

from jaxrobust.analysis import bootstrap
from jaxrobust.analysis import errors
from jaxrobust.analysis import verdicts

SCRATCH_GROUP = 'scratch'
MIN_GROUP_MODELS = 3  # fewer: no line of its own, and a caveat in the findings
# How many of the fine-tune dataset's classes the pre-training images include, of how many:
# a consequence of a setting, stated beside its findings, never a group of its own.
COVERAGE_COLUMNS = ('pretrain.target_classes_covered', 'pretrain.target_classes')
_NOT_SETTINGS = ('pretrain.seed', *COVERAGE_COLUMNS)  # replicates, consequences: not settings
BACKBONE_COLUMN = 'pretrain_checkpoint'  # which pre-trained model a fine-tune started from
PRETRAINED_MODEL = 'pretrained_model'  # its column in the model table (`backbones`)


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


# Count columns read as '<value> <unit>' (singular, plural); any other column as '<name>: <value>'.
_COUNT_UNITS = {
    'pretrain.num_examples': ('image', 'images'),
    'pretrain.num_classes': ('class', 'classes'),
    'pretrain.images_per_class': ('image per class', 'images per class'),
    'pretrain.steps': ('step', 'steps'),
}


# Settings that read better under another name: runs that differ only in their disjoint part
# of the same data (`pretrain.part`, 'i/n') are a placebo pair, so that is what the label says.
_NAMES = {'pretrain.part': 'placebo part'}
_LEFT_OUT_UNSET = ('pretrain.part',)  # a group without a part takes all of its data: no words
DRAW_COLUMNS = ('pretrain.part',)  # which draw of one distribution: not a setting of its own


def _name(column: str) -> str:
  return _NAMES.get(column, column.removeprefix('pretrain.').replace('_', ' '))


def column_title(column: str) -> str:
  """A column in words: 'pre-training images', 'pre-training label level'."""
  name = _COUNT_UNITS[column][1] if column in _COUNT_UNITS else _name(column)
  return f'pre-training {name}' if column.startswith('pretrain.') else name


def format_value(value) -> str:
  """A group value as short text: 25,000 rather than 25000.0."""
  if isinstance(value, (bool, np.bool_)):
    return str(value)
  if isinstance(value, (int, float, np.integer, np.floating)) and float(value).is_integer():
    return f'{int(value):,}'
  return str(value)


def setting_text(column: str, value) -> str:
  """One setting in words: '2,000 images', '1 class', 'label level: level1'."""
  if column in _COUNT_UNITS and not pd.isna(value):
    one, many = _COUNT_UNITS[column]
    return f'{format_value(value)} {one if value == 1 else many}'
  return f'{_name(column)}: {"n/a" if pd.isna(value) else format_value(value)}'


def group_labels(df: pd.DataFrame, group_by: Sequence[str]) -> pd.Series:
  """One label per row: 'scratch', or the settings in words ('2,000 images, 5 classes').

  Without `group_by`, a pre-trained row is labelled by its kind. The report, the
  console and the plots all show these labels.
  """
  def label(row):
    if row.get('kind') == 'scratch':
      return SCRATCH_GROUP
    if not group_by:
      return str(row.get('kind', 'all'))
    return ', '.join(setting_text(c, row[c]) for c in group_by
                     if not (c in _LEFT_OUT_UNSET and pd.isna(row[c])))
  return df.apply(label, axis=1) if len(df) else pd.Series([], dtype=object)


def alike_but(groups: pd.DataFrame, column: str, group_by: Sequence[str]
              ) -> list[pd.DataFrame]:
  """`groups` split into sets that share every group_by value but `column`'s (missing alike)."""
  others = [c for c in group_by if c != column and c in groups.columns]
  if not others:
    return [groups]
  return [same for _, same in groups.groupby(others, dropna=False, sort=False)]


def benchmark_coverage(df: pd.DataFrame, labels: pd.Series) -> dict[str, str]:
  """Group label -> 'K/N' (K of the fine-tune dataset's N classes in its pre-training images),
  for the groups whose models all record the same known coverage."""
  if not all(c in df for c in COVERAGE_COLUMNS):
    return {}
  covered, total = (df[c].to_numpy() for c in COVERAGE_COLUMNS)
  found = {}
  for label in pd.unique(labels):
    rows = (labels == label).to_numpy()
    pairs = set(zip(covered[rows], total[rows]))  # NaNs never compare equal: > 1 pair
    if len(pairs) == 1:
      (k, n), = pairs
      if not (pd.isna(k) or pd.isna(n)):
        found[label] = f'{int(k)}/{int(n)}'
  return found


def backbones(df: pd.DataFrame) -> pd.Series:
  """Each run's pre-trained model: its checkpoint (`BACKBONE_COLUMN`) as `<run>/checkpoints/
  <step>`, the same wherever the workdir lies; a run without one (scratch, or results that
  do not record it) is a model of its own."""
  if BACKBONE_COLUMN not in df:
    return df['run_id'].astype(str)
  checkpoints = df[BACKBONE_COLUMN].map(
      lambda path: '/'.join(str(path).rstrip('/').split('/')[-3:]), na_action='ignore')
  return checkpoints.where(checkpoints.notna(), df['run_id']).astype(str)


def mean_replicates(member_replicates: np.ndarray, rng: np.random.Generator,
                    backbone: Sequence[str] | None = None) -> np.ndarray:
  """(B,) replicates of a group mean from (k, B) member replicates.

  Two-stage bootstrap: members are resampled with replacement (the spread between
  runs of one setting), each picked member contributes its own replicate (its
  test-set noise), and replicate b of every member shares trend resample b.
  Members that share a pre-trained model (`backbone`, one entry per member) are
  resampled as it is: first the pre-trained models, then fine-tunes within each drawn
  one, so the chance of pre-training enters the interval. A group of one pre-trained
  model has no such spread to draw from: its members are resampled alone.
  """
  k, num_resamples = member_replicates.shape
  if k == 1:
    return member_replicates[0]
  _, model_of = np.unique(np.asarray(backbone if backbone is not None else np.arange(k)),
                          return_inverse=True)
  num_models = int(model_of.max()) + 1
  columns = np.arange(num_resamples)[:, None]
  if num_models in (1, k):
    members = rng.integers(0, k, size=(num_resamples, k))
    return member_replicates[members, columns].mean(axis=1)
  sizes = np.bincount(model_of)
  fine_tunes = np.zeros((num_models, sizes.max()), np.int64)  # model -> its members, padded
  for m in range(num_models):
    fine_tunes[m, :sizes[m]] = np.flatnonzero(model_of == m)
  total, count = np.zeros(num_resamples), np.zeros(num_resamples)
  for model in rng.integers(0, num_models, size=(num_models, num_resamples)):
    size = sizes[model][:, None]
    drawn = (rng.random((num_resamples, sizes.max())) * size).astype(np.int64)
    valid = np.arange(sizes.max())[None, :] < size
    values = member_replicates[fine_tunes[model[:, None], drawn], columns]
    total += np.where(valid, values, 0.0).sum(axis=1)
    count += valid.sum(axis=1)
  return total / count


def group_table(table: pd.DataFrame, er_replicates: dict[str, np.ndarray],
                group_by: Sequence[str], margin: float, level: float = 0.95,
                seed: int = 0) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
  """Per group: size, mean ID/OOD/ER, the ER interval and its verdict against the trend.

  The scratch group gets no verdict (its ER is measured from its own line).
  Each run's pre-trained model (column PRETRAINED_MODEL; without it, every run its own) is
  resampled as a level of its own (`mean_replicates`); `n_pretrained` counts them.
  Returns the table (scratch first, then in order of the group_by values) and
  each group's (B,) mean-ER replicates.
  """
  backbone = table[PRETRAINED_MODEL] if PRETRAINED_MODEL in table else table['run_id']
  rows, replicates = [], {}
  for label, members in table.groupby('group', sort=False):
    reps = np.stack([er_replicates[r] for r in members['run_id']])
    models = backbone.loc[members.index].astype(str).to_numpy()
    replicates[label] = mean_replicates(reps, bootstrap.rng_for(seed, f'group:{label}'), models)
    judged = verdicts.judge(replicates[label], margin, level).columns('er_')
    if label == SCRATCH_GROUP:
      judged['verdict'] = None
    rows.append({
        'group': label, **{c: members[c].iloc[0] for c in group_by},
        'n_models': len(members), 'n_pretrained': len(set(models)),
        'id_mean': members['id'].mean(),
        'ood_mean': members['ood'].mean(), 'er': members['er'].mean(), **judged,
    })
  groups = pd.DataFrame(rows)
  groups['_scratch'] = groups['group'] != SCRATCH_GROUP
  groups = groups.sort_values(['_scratch', *group_by], kind='stable', na_position='first')
  return groups.drop(columns='_scratch').reset_index(drop=True), replicates


DIFFERENCE_COLUMNS = ['group_a', 'group_b', 'er_difference', 'low', 'high', 'equivalence_low',
                      'equivalence_high', 'verdict', 'margin']


def group_differences(groups: pd.DataFrame, replicates: dict[str, np.ndarray], margin: float,
                      level: float = 0.95) -> pd.DataFrame:
  """Mean ER of group a minus group b, with intervals and verdict, per pair of pre-trained groups.

  Both means use the same trend resamples, so the trend's uncertainty largely
  cancels in the difference.
  """
  labels = [g for g in groups['group'] if g != SCRATCH_GROUP]
  er = dict(zip(groups['group'], groups['er']))
  rows = []
  for a, b in itertools.combinations(labels, 2):
    judged = verdicts.judge(replicates[a] - replicates[b], margin, level)
    rows.append({'group_a': a, 'group_b': b, 'er_difference': er[a] - er[b],
                 **judged.columns()})
  return pd.DataFrame(rows, columns=DIFFERENCE_COLUMNS)
