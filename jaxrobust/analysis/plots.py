"""Figures: OOD vs ID on transformed axes with the baseline band, ER against a property."""
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib import figure
from matplotlib import ticker

from jaxrobust.analysis import bootstrap
from jaxrobust.analysis import errors
from jaxrobust.analysis import groups as groups_lib
from jaxrobust.analysis import load
from jaxrobust.analysis import pipeline
from jaxrobust.analysis import summary
from jaxrobust.analysis import transforms

_TICK_PERCENTS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 3, 5, 7, 10, 15, 20, 25, 30, 40, 50, 60,
                  70, 75, 80, 85, 90, 93, 95, 97, 98, 99, 99.5, 99.8, 99.9, 99.95, 99.98, 99.99)
_SCRATCH_COLOR = '0.4'


def _percent(value, _=None) -> str:
  return f'{100 * value:.4g}%'


def _limits(values, t: transforms.Transform, pad: float = 0.08) -> tuple[float, float]:
  """Axis limits (scores) around `values`, padded in transformed space."""
  x = t(np.asarray(values, np.float64)[np.isfinite(values)])
  lo, hi = x.min(), x.max()
  margin = pad * max(hi - lo, 0.2)
  return float(t.inverse(lo - margin)), float(t.inverse(hi + margin))


def _ticks(lo: float, hi: float, t: transforms.Transform, max_ticks: int = 8) -> list[float]:
  """Round percentages inside [lo, hi], at least 1/max_ticks of the axis apart."""
  span = t(hi) - t(lo)
  chosen = []
  for p in _TICK_PERCENTS:
    v = p / 100
    if lo <= v <= hi and (not chosen or t(v) - t(chosen[-1]) >= span / max_ticks):
      chosen.append(v)
  return chosen


def _transformed_axis(ax, which: str, values, t: transforms.Transform):
  """Puts ax's `which` ('x'/'y') axis on the transform's scale, ticks in %; returns limits."""
  lo, hi = _limits(values, t)
  getattr(ax, f'set_{which}scale')('function', functions=(t, t.inverse))
  axis = getattr(ax, f'{which}axis')
  axis.set_major_locator(ticker.FixedLocator(_ticks(lo, hi, t)))
  axis.set_major_formatter(ticker.FuncFormatter(_percent))
  axis.set_minor_locator(ticker.NullLocator())
  return lo, hi


def group_colors(groups: pd.DataFrame, group_by) -> dict[str, object]:
  """A colour per group: ordered (viridis) for one numeric setting, else tab10/tab20."""
  labels = [g for g in groups['group'] if g != groups_lib.SCRATCH_GROUP]
  numeric = len(group_by) == 1 and pd.api.types.is_numeric_dtype(groups[group_by[0]])
  if numeric:
    cmap = colormaps['viridis']
    palette = [cmap(v) for v in np.linspace(0.0, 0.85, max(len(labels), 1))]
  else:
    cmap = colormaps['tab10' if len(labels) <= 10 else 'tab20']
    palette = [cmap(i % cmap.N) for i in range(len(labels))]
  return {groups_lib.SCRATCH_GROUP: _SCRATCH_COLOR, **dict(zip(labels, palette))}


def _error(values, low, high) -> np.ndarray:
  """Errorbar extents from an interval (0 where unknown)."""
  return np.nan_to_num(np.stack([values - low, high - values]), nan=0.0).clip(min=0)


def plot_id_vs_ood(analysis: pipeline.Analysis) -> figure.Figure:
  """OOD vs ID of every model on transformed axes, y = x where it crosses the plotted scores,
  the baseline band, group lines + bands."""
  t = transforms.get_transform(analysis.transform)
  table, groups = analysis.table, analysis.groups
  fig = figure.Figure(figsize=(9, 5.5), layout='constrained')
  ax = fig.add_subplot()
  x_lo, x_hi = _transformed_axis(
      ax, 'x', np.r_[table['id'], table['id_low'], table['id_high']], t)
  y_lo, y_hi = _transformed_axis(
      ax, 'y', np.r_[table['ood'], table['ood_low'], table['ood_high']], t)
  grid = t.inverse(np.linspace(t(x_lo), t(x_hi), 200))
  low, high = bootstrap.trend_band(analysis.trend_samples, grid, analysis.level)
  num_baseline = int(table['baseline'].sum())
  ax.plot(grid, analysis.trend.expected_ood(grid), color='0.1', lw=1.5,
          label=summary.sized('baseline trend', num_baseline))
  ax.fill_between(grid, low, high, color='0.2', alpha=0.18, lw=0,
                  label=f'{analysis.level:.0%} band of the trend')
  start, stop = max(x_lo, y_lo), min(x_hi, y_hi)
  if start < stop:  # y = x (no loss under the shift) where it crosses the plotted scores
    diagonal = t.inverse(np.linspace(t(start), t(stop), 50))
    ax.plot(diagonal, diagonal, ls='--', color='0.5', lw=1, label='y = x')
  elif y_hi < x_lo:
    ax.text(0.01, 0.99, 'y = x lies above the plot: every OOD score is below every ID score',
            transform=ax.transAxes, va='top', fontsize='small', color='0.35')

  colors = group_colors(groups, analysis.group_by)
  own_lines = False
  for g in groups.itertuples():
    members = table[table['group'] == g.group]
    scratch = g.group == groups_lib.SCRATCH_GROUP
    ax.errorbar(members['id'], members['ood'],
                xerr=_error(members['id'], members['id_low'], members['id_high']),
                yerr=_error(members['ood'], members['ood_low'], members['ood_high']),
                fmt='s' if scratch else 'o', ms=4.5, color=colors[g.group], elinewidth=0.7,
                alpha=0.85, label=summary.sized(g.group, g.n_models, g.n_pretrained))
    line = analysis.group_lines.get(g.group)
    if not scratch and line is not None:  # only groups of MIN_GROUP_MODELS or more
      span = t(np.array(line.id_range))
      margin = 0.1 * (span[1] - span[0])
      xs = t.inverse(np.linspace(span[0] - margin, span[1] + margin, 50))
      ax.plot(xs, line.fit.expected_ood(xs), color=colors[g.group], lw=1.2)
      band_low, band_high = bootstrap.trend_band(line.samples, xs, analysis.level)
      ax.fill_between(xs, band_low, band_high, color=colors[g.group], alpha=0.12, lw=0)
      own_lines = True
  if own_lines:  # one neutral entry: each coloured line is the fit of its group's models
    ax.plot([], [], color='0.5', lw=1.2,
            label=f"a group's own line ({groups_lib.MIN_GROUP_MODELS}+ models)")
    ax.fill_between([], [], [], color='0.5', alpha=0.12, lw=0,
                    label=f'{analysis.level:.0%} band of its line')
  ax.set_xlim(x_lo, x_hi)
  ax.set_ylim(y_lo, y_hi)
  metric = summary.metric_name(analysis.metric)
  scale = '' if analysis.transform == 'identity' else f', {analysis.transform} scale'
  ax.set_xlabel(f'ID {metric} (%) on {analysis.id_split}{scale}')
  ax.set_ylabel(f'OOD {metric} (%) on {analysis.ood_split}{scale}')
  ax.set_title(f'OOD vs ID {metric}: baseline trend and pre-trained models')
  ax.grid(alpha=0.3)
  ax.legend(fontsize='small', loc='upper left', bbox_to_anchor=(1.02, 1), borderaxespad=0)
  return fig


def _compact(value: float) -> str:
  """25000 -> '25K', 1000000 -> '1M', 0.5 -> '0.5'."""
  for size, suffix in ((1e9, 'B'), (1e6, 'M'), (1e3, 'K')):
    if abs(value) >= size:
      return f'{value / size:.3g}{suffix}'
  return f'{value:.3g}'


def _positions(values: pd.Series) -> tuple[np.ndarray, list[str] | None, bool]:
  """(x positions, category labels or None, log scale?) for a property column."""
  numeric = pd.to_numeric(values, errors='coerce')
  if numeric.notna().all():
    positive = (numeric > 0).all()
    return numeric.to_numpy(np.float64), None, bool(
        positive and numeric.max() / numeric.min() >= 10)
  # pandas' string dtype keeps NaN as NaN, so missing values get an explicit label.
  labels = values.map(lambda v: 'n/a' if pd.isna(v) else str(v))
  categories = sorted(labels.unique())
  return labels.map(categories.index).to_numpy(np.float64), categories, False


def _dodged(x: np.ndarray, log_x: bool, categorical: bool) -> np.ndarray:
  """Positions nudged apart where several groups share one x value."""
  scaled = np.log10(x) if log_x else x.astype(np.float64)
  step = 0.12 if categorical else 0.025 * (np.ptp(scaled) or 1.0)
  out = scaled.copy()
  for value in np.unique(scaled):
    same = np.flatnonzero(scaled == value)
    out[same] += (np.arange(len(same)) - (len(same) - 1) / 2) * step
  return 10 ** out if log_x else out


def plot_er_vs_property(analysis: pipeline.Analysis, column: str) -> figure.Figure:
  """ER (points) of every pre-trained model and of each group against `column`."""
  if column not in analysis.table.columns:
    raise errors.AnalysisError(
        f'{column!r} is not a group_by column of this analysis ({analysis.group_by}); '
        f'analyze with group_by=[{column!r}, ...].')
  models = analysis.table[analysis.table['group'] != groups_lib.SCRATCH_GROUP]
  groups = analysis.groups[analysis.groups['group'] != groups_lib.SCRATCH_GROUP]
  colors = group_colors(analysis.groups, analysis.group_by)
  values, categories, log_x = _positions(groups[column])
  x_groups = _dodged(values, log_x, categories is not None)
  x_models = models['group'].map(dict(zip(groups['group'], x_groups))).to_numpy()
  fig = figure.Figure(figsize=(9, 4.5), layout='constrained')
  ax = fig.add_subplot()
  ax.axhline(0, color='0.1', lw=1.2, label='baseline trend (ER = 0)')
  ax.scatter(x_models, models['er'], s=14, color=[colors[g] for g in models['group']],
             alpha=0.45)
  ax.scatter([], [], s=14, color='0.5', alpha=0.45, label='one model')  # neutral legend entry
  ax.errorbar(x_groups, groups['er'], yerr=_error(groups['er'], groups['er_low'],
                                                  groups['er_high']),
              fmt='none', ecolor='0.2', elinewidth=1.2, capsize=3,
              label=f'group mean, {analysis.level:.0%} interval')
  series = _series(groups, column, analysis.group_by)
  for members in series:  # groups that differ in `column` alone
    order = np.argsort(x_groups[members])
    ax.plot(x_groups[members][order], groups['er'].to_numpy()[members][order], color='0.4',
            lw=1, zorder=2)
  if series:
    ax.plot([], [], color='0.4', lw=1, label=f'joins groups that differ in {column} alone')
  comparable = {i for members in series for i in members}
  for i, (g, x) in enumerate(zip(groups.itertuples(), x_groups)):  # one entry per colour
    alone = i not in comparable
    ax.scatter([x], [g.er], s=60, color='white' if alone else colors[g.group],
               edgecolor=colors[g.group] if alone else '0.1', linewidth=1.5 if alone else 1,
               zorder=3, label=summary.sized(g.group, g.n_models, g.n_pretrained)
               + (' (differs in other properties too)' if alone else ''))
  if log_x:
    ax.set_xscale('log')
  if categories is not None:
    ax.set_xticks(range(len(categories)), categories, rotation=20)
    ax.set_xlim(-0.5, len(categories) - 0.5)
  elif len(np.unique(values)) <= 12:  # label the settings themselves: 25K, 1M
    ax.set_xticks(np.unique(values), [_compact(v) for v in np.unique(values)])
    ax.xaxis.set_minor_locator(ticker.NullLocator())
  title = groups_lib.column_title(column)
  ax.set_xlabel(title + (' (log scale)' if log_x else ''))
  metric = summary.metric_name(analysis.metric)
  ax.set_ylabel(f'ER (OOD {metric} points above the trend)')
  ax.set_title(f'Effective robustness vs {title}')
  ax.grid(alpha=0.3)
  ax.legend(fontsize='small', loc='upper left', bbox_to_anchor=(1.02, 1), borderaxespad=0)
  return fig


def _series(groups: pd.DataFrame, column: str, group_by: Sequence[str]) -> list[np.ndarray]:
  """Row positions of the groups that share every group_by value but `column`, 2+ each."""
  return [groups.index.get_indexer(same.index)
          for same in groups_lib.alike_but(groups, column, group_by) if len(same) >= 2]


def save_figure(fig: figure.Figure, out_dir, name: str) -> list[str]:
  """Writes `name`.png and `name`.svg into `out_dir` (local or gs://); returns the paths."""
  paths = []
  for fmt in ('png', 'svg'):
    path = load.open_path(out_dir) / f'{name}.{fmt}'
    with path.open('wb') as f:
      fig.savefig(f, format=fmt, dpi=150)
    paths.append(str(path))
  return paths
