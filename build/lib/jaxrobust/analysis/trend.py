"""The baseline trend T(ood) = a * T(id) + b and effective robustness against it."""
import dataclasses
from typing import Callable

import numpy as np
import pandas as pd

from jaxrobust.analysis import errors
from jaxrobust.analysis import load
from jaxrobust.analysis import transforms

# A baseline selection: None (kind == 'scratch'), a pandas query string, a boolean
# mask, or a function of the DataFrame returning a boolean mask.
Baseline = None | str | Callable[[pd.DataFrame], np.ndarray] | np.ndarray | pd.Series


@dataclasses.dataclass(frozen=True)
class Trend:
  """A line in transformed space: T(ood) = slope * T(id) + intercept."""
  slope: float
  intercept: float
  transform: str = 'logit'

  def expected_ood(self, id_scores) -> np.ndarray:
    """The OOD score the trend predicts for ID scores (clipped before transforming)."""
    t = transforms.get_transform(self.transform)
    return t.inverse(self.slope * t(id_scores) + self.intercept)


def least_squares_lines(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Slopes and intercepts of y on x along the last axis (nan where x is constant)."""
  x_mean = x.mean(-1, keepdims=True)
  y_mean = y.mean(-1, keepdims=True)
  sxx = ((x - x_mean) ** 2).sum(-1)
  sxy = ((x - x_mean) * (y - y_mean)).sum(-1)
  with np.errstate(invalid='ignore', divide='ignore'):
    slope = np.where(sxx > 0, sxy / np.where(sxx > 0, sxx, 1), np.nan)
  return slope, y_mean[..., 0] - slope * x_mean[..., 0]


def fit_trend(id_scores, ood_scores, transform: str = 'logit') -> Trend:
  """Least-squares line of T(ood) on T(id); needs two distinct ID scores."""
  t = transforms.get_transform(transform)
  x, y = t(id_scores), t(ood_scores)
  if x.size < 2 or np.ptp(x) == 0:
    raise errors.AnalysisError(
        f'A trend needs at least two models with different ID scores; got {x.size} '
        f'point(s) with {len(np.unique(x))} distinct ID score(s).')
  slope, intercept = least_squares_lines(x, y)
  return Trend(float(slope), float(intercept), transform)


def select_baseline(df: pd.DataFrame, baseline: Baseline = None) -> np.ndarray:
  """Boolean mask of the baseline rows (default: kind == 'scratch')."""
  if baseline is None:
    mask = df['kind'] == 'scratch' if 'kind' in df else np.zeros(len(df), bool)
  elif isinstance(baseline, str):
    try:
      mask = df.eval(baseline)
    except Exception as e:  # pandas raises many kinds for a bad expression
      raise errors.AnalysisError(
          f'The baseline selection {baseline!r} is not a pandas query over the results '
          f'({type(e).__name__}: {e}); quote dotted columns with backticks, e.g. '
          f'"kind == \'scratch\' and `finetune.epochs` >= 10" (--baseline).') from e
  elif callable(baseline):
    mask = baseline(df)
  else:
    mask = baseline
  mask = np.asarray(mask)
  if mask.dtype != bool or mask.shape != (len(df),):
    raise errors.AnalysisError(
        f'The baseline selection {baseline!r} must give one boolean per row, e.g. '
        f'"kind == \'scratch\'" (--baseline).')
  return mask


def fit_baseline_trend(df: pd.DataFrame, metric: str = 'macro_f1', transform: str = 'logit',
                       baseline: Baseline = None) -> Trend:
  """The trend of the baseline models (default: kind == 'scratch') in `metric`."""
  mask = select_baseline(df, baseline)
  if mask.sum() < 2:
    raise errors.AnalysisError(
        f'Need at least two baseline models to fit the trend, found {mask.sum()} '
        f'(baseline: {baseline or "kind == scratch"}). Train more scratch runs '
        f'(configs/scratch.py) or choose other baseline rows (--baseline).')
  id_column, ood_column = load.metric_columns(metric)
  return fit_trend(df.loc[mask, id_column], df.loc[mask, ood_column], transform)


def effective_robustness(df: pd.DataFrame, trend: Trend, metric: str = 'macro_f1') -> pd.DataFrame:
  """Per model: run_id, kind, id, ood, expected_ood and er = ood - expected_ood (points)."""
  id_column, ood_column = load.metric_columns(metric)
  id_scores = df[id_column].to_numpy(np.float64)
  ood_scores = df[ood_column].to_numpy(np.float64)
  expected = trend.expected_ood(id_scores)
  return pd.DataFrame({
      'run_id': df['run_id'].to_numpy(),
      'kind': df['kind'].to_numpy() if 'kind' in df else None,
      'id': id_scores,
      'ood': ood_scores,
      'expected_ood': expected,
      'er': 100 * (ood_scores - expected),
  })
