"""Bootstrap resampling: the baseline models' scatter for the trend, test examples per model."""
import dataclasses
import zlib

import numpy as np

from jaxrobust import metrics
from jaxrobust.analysis import transforms
from jaxrobust.analysis import trend as trend_lib

NUM_RESAMPLES = 1000


def rng_for(seed: int, name: str) -> np.random.Generator:
  """A generator seeded by (seed, name): the same stream whatever else is analysed."""
  return np.random.default_rng([seed, zlib.crc32(name.encode())])


def percentile_interval(replicates: np.ndarray, level: float = 0.95,
                        axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
  """The percentile interval of bootstrap replicates along `axis`."""
  tail = 100 * (1 - level) / 2
  low, high = np.percentile(replicates, [tail, 100 - tail], axis=axis)
  return low, high


@dataclasses.dataclass(frozen=True)
class TrendSamples:
  """Trend lines drawn by the studentized residual bootstrap of `bootstrap_trend`."""
  slopes: np.ndarray      # (B,)
  intercepts: np.ndarray  # (B,)
  transform: str

  def expected_ood(self, id_scores) -> np.ndarray:
    """Every resampled line's expected OOD score: (B,) for a scalar, (B, G) for a (G,) grid."""
    t = transforms.get_transform(self.transform)
    x = t(id_scores)
    return t.inverse(self.slopes.reshape(self.slopes.shape + (1,) * x.ndim) * x
                     + self.intercepts.reshape(self.intercepts.shape + (1,) * x.ndim))

  def expected_ood_paired(self, id_replicates) -> np.ndarray:
    """(B,) expected OOD score of line b at ID replicate b."""
    t = transforms.get_transform(self.transform)
    return t.inverse(self.slopes * t(id_replicates) + self.intercepts)

  def intervals(self, level: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """((slope low, high), (intercept low, high)): `level` percentile intervals."""
    return tuple(tuple(map(float, percentile_interval(v, level)))
                 for v in (self.slopes, self.intercepts))


def _residual_sd(x: np.ndarray, y: np.ndarray, slopes, intercepts) -> np.ndarray:
  """Residual sd of lines fitted to (x, y) along the last axis, on n - 2 degrees of freedom."""
  residuals = y - (slopes[..., None] * x + intercepts[..., None])
  return np.sqrt((residuals ** 2).sum(-1) / (x.shape[-1] - 2))


def bootstrap_trend(id_scores, ood_scores, transform: str = 'logit',
                    num_resamples: int = NUM_RESAMPLES, seed: int = 0,
                    name: str = 'trend') -> TrendSamples:
  """Trend lines drawn by a studentized (bootstrap-t) residual bootstrap over the baseline models.

  Keeps the baseline ID scores fixed and redraws each model's scatter around the
  fitted line from its leverage-corrected residuals r_i / sqrt(1 - h_i), centred and
  symmetrised (+r and -r). Each refitted line's deviation from the fit is scaled by
  s / s*_b (residual sds of the fit and of resample b); since the line's standard
  error at any ID score is proportional to the residual sd, the percentile band of
  these lines is the bootstrap-t band fit(x) -+ q * se(x), which like the t band of
  OLS widens for the uncertainty of s with few models. Resamples without residual
  spread are redrawn. With two models, or models exactly on a line, there is no
  residual spread to resample and every line is the fit (a band of zero width).
  `name` picks the random stream (rng_for), so lines of different model sets are independent.
  """
  t = transforms.get_transform(transform)
  x, y = t(id_scores), t(ood_scores)
  fit = trend_lib.fit_trend(id_scores, ood_scores, transform)  # same checks as the point fit
  slopes = np.full(num_resamples, fit.slope)
  intercepts = np.full(num_resamples, fit.intercept)
  n = x.size
  fitted = fit.slope * x + fit.intercept
  sd = np.sqrt(((y - fitted) ** 2).sum() / (n - 2)) if n > 2 else 0.0
  if sd <= 1e-12 * max(1.0, np.abs(y).max()):
    return TrendSamples(slopes, intercepts, transform)
  centred = x - x.mean()
  leverage = 1 / n + centred ** 2 / (centred ** 2).sum()
  residuals = (y - fitted) / np.sqrt(1 - leverage)
  residuals = np.concatenate([residuals - residuals.mean(), residuals.mean() - residuals])
  rng = rng_for(seed, name)
  redo = np.ones(num_resamples, bool)
  while redo.any():
    y_star = fitted + residuals[rng.integers(0, residuals.size, size=(redo.sum(), n))]
    x_star = np.broadcast_to(x, y_star.shape)
    slope_star, intercept_star = trend_lib.least_squares_lines(x_star, y_star)
    sd_star = _residual_sd(x_star, y_star, slope_star, intercept_star)
    scale = sd / np.where(sd_star > 1e-9 * sd, sd_star, np.nan)
    slopes[redo] = fit.slope + (slope_star - fit.slope) * scale
    intercepts[redo] = fit.intercept + (intercept_star - fit.intercept) * scale
    redo = np.isnan(slopes)
  return TrendSamples(slopes, intercepts, transform)


def trend_band(samples: TrendSamples, id_grid, level: float = 0.95):
  """Pointwise percentile band (low, high) of the expected OOD score on `id_grid`."""
  return percentile_interval(samples.expected_ood(np.asarray(id_grid, np.float64)), level)


def resample_cell_counts(cells: metrics.ConfusionCells, num_resamples: int,
                         rng: np.random.Generator) -> np.ndarray:
  """(B, C) cell counts of test sets resampled with replacement from the observed one.

  Drawing n examples with replacement is a multinomial draw over the confusion
  cells with their observed frequencies, so no per-example index is needed.
  """
  n = cells.num_examples
  return rng.multinomial(n, cells.counts / n, size=num_resamples)


def metric_replicates(labels, predictions, metric: str, num_resamples: int,
                      rng: np.random.Generator) -> tuple[float, np.ndarray]:
  """(metric on the test set, (B,) metric on test sets resampled with replacement)."""
  cells = metrics.confusion_cells(labels, predictions)
  counts = resample_cell_counts(cells, num_resamples, rng)
  return (float(metrics.metric_from_counts(metric, cells)),
          metrics.metric_from_counts(metric, cells, counts))
