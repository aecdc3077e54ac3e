"""The trend band: a studentized residual bootstrap of the baseline models."""
import numpy as np
from scipy import stats

from jaxrobust.analysis import bootstrap


def _exact_t_band(x, y, grid, level=0.95):
  """The classical pointwise band of an OLS line under normal scatter."""
  n = x.size
  slope, intercept = np.polyfit(x, y, 1)
  sd = np.sqrt(((y - (slope * x + intercept)) ** 2).sum() / (n - 2))
  se = sd * np.sqrt(1 / n + (grid - x.mean()) ** 2 / ((x - x.mean()) ** 2).sum())
  half = stats.t.ppf((1 + level) / 2, n - 2) * se
  fit = slope * grid + intercept
  return fit - half, fit + half


def test_band_is_about_as_wide_as_the_exact_t_band_with_few_models():
  rng = np.random.default_rng(0)
  ratios = []
  for _ in range(20):
    x = rng.uniform(0.3, 0.7, 6)
    y = 0.9 * x - 0.1 + rng.normal(0, 0.02, 6)
    grid = np.array([0.3, 0.5, 0.7])
    samples = bootstrap.bootstrap_trend(x, y, 'identity', num_resamples=2000, seed=0)
    low, high = bootstrap.trend_band(samples, grid)
    t_low, t_high = _exact_t_band(x, y, grid)
    ratios.append((high - low) / (t_high - t_low))
  # A plain percentile bootstrap gives about 1.96 / 2.78 = 0.7 of it here.
  assert 0.85 <= np.median(ratios) <= 1.2, np.median(ratios)


def test_two_baseline_models_give_the_fitted_line_in_every_resample():
  samples = bootstrap.bootstrap_trend([0.3, 0.6], [0.2, 0.5], 'identity', num_resamples=50)
  np.testing.assert_allclose(samples.slopes, 1.0)
  np.testing.assert_allclose(samples.intercepts, -0.1)


def test_every_resampled_line_is_finite():
  samples = bootstrap.bootstrap_trend([0.3, 0.4, 0.5], [0.2, 0.31, 0.39], num_resamples=2000)
  assert np.isfinite(samples.slopes).all() and np.isfinite(samples.intercepts).all()
