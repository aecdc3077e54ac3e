"""Each group's own line (OOD vs ID of its models) and the vertical distance between two lines.

A group's line is fitted and resampled as the baseline trend is (bootstrap.bootstrap_trend:
its models' ID scores fixed, their scatter around the line redrawn), each group from its own
random stream. Two groups' lines are compared by their mean vertical distance, in OOD points,
over the ID range both groups cover (evenly spaced in transformed ID), so neither line is
extrapolated.
"""
import dataclasses
import itertools

import numpy as np
import pandas as pd

from jaxrobust.analysis import bootstrap
from jaxrobust.analysis import errors
from jaxrobust.analysis import groups as groups_lib
from jaxrobust.analysis import transforms
from jaxrobust.analysis import trend as trend_lib
from jaxrobust.analysis import verdicts

GRID_SIZE = 50  # ID values the vertical distance is averaged over


@dataclasses.dataclass(frozen=True)
class GroupLine:
  """A group's fitted line, its bootstrap resamples and the ID range of its models."""
  fit: trend_lib.Trend
  samples: bootstrap.TrendSamples
  id_range: tuple[float, float]


def fit_group_lines(table: pd.DataFrame, transform: str, num_resamples: int,
                    seed: int = 0) -> dict[str, GroupLine]:
  """The line of each group of MIN_GROUP_MODELS or more models with distinct ID scores, but
  not of a group that is the baseline itself (its line is the trend)."""
  out = {}
  for label, members in table.groupby('group', sort=False):
    if len(members) < groups_lib.MIN_GROUP_MODELS:  # two points always lie on a line
      continue
    if 'baseline' in members and members['baseline'].all():
      continue
    try:
      fit = trend_lib.fit_trend(members['id'], members['ood'], transform)
    except errors.AnalysisError:  # the members share one ID score
      continue
    samples = bootstrap.bootstrap_trend(members['id'], members['ood'], transform,
                                        num_resamples, seed, name=f'line:{label}')
    out[label] = GroupLine(fit, samples, (float(members['id'].min()),
                                          float(members['id'].max())))
  return out


def line_columns(line: GroupLine | None, level: float) -> dict[str, float]:
  """slope, intercept and their `level` intervals (nan without a line)."""
  if line is None:
    return {f'{name}{end}': np.nan for name in ('slope', 'intercept')
            for end in ('', '_low', '_high')}
  out = {}
  for name, value, (low, high) in zip(('slope', 'intercept'),
                                      (line.fit.slope, line.fit.intercept),
                                      line.samples.intervals(level)):
    out.update({name: value, f'{name}_low': low, f'{name}_high': high})
  return out


def common_id_grid(a: GroupLine, b: GroupLine, transform: str) -> np.ndarray | None:
  """GRID_SIZE ID scores evenly spaced in transformed ID over both ranges; None if disjoint."""
  low, high = max(a.id_range[0], b.id_range[0]), min(a.id_range[1], b.id_range[1])
  if low >= high:
    return None
  t = transforms.get_transform(transform)
  return t.inverse(np.linspace(t(low), t(high), GRID_SIZE))


def line_differences(lines: dict[str, GroupLine], labels, transform: str, margin: float,
                     level: float = 0.95) -> pd.DataFrame:
  """Per pair of `labels` with lines and a common ID range: line a minus line b, in points.

  `distance` is the mean over the common range of OOD on line a minus OOD on line b
  (x 100); its replicates pair independent resamples of the two lines.
  """
  rows = []
  with_lines = [label for label in labels if label in lines]
  for a, b in itertools.combinations(with_lines, 2):
    grid = common_id_grid(lines[a], lines[b], transform)
    if grid is None:
      continue
    distance = 100 * (lines[a].fit.expected_ood(grid) - lines[b].fit.expected_ood(grid)).mean()
    replicates = 100 * (lines[a].samples.expected_ood(grid)
                        - lines[b].samples.expected_ood(grid)).mean(axis=1)
    rows.append({'group_a': a, 'group_b': b, 'id_from': float(grid[0]),
                 'id_to': float(grid[-1]), 'distance': float(distance),
                 **verdicts.judge(replicates, margin, level).columns()})
  return pd.DataFrame(rows, columns=['group_a', 'group_b', 'id_from', 'id_to', 'distance',
                                     *groups_lib.DIFFERENCE_COLUMNS[3:]])

