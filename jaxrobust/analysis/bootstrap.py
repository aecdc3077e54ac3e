"""Bootstrap resampling: baseline models for the trend, test examples for each model."""
import dataclasses
import zlib

import numpy as np

from jaxrobust.analysis import confusion
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
  """Trend lines refitted on baseline models resampled with replacement."""
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


def bootstrap_trend(id_scores, ood_scores, transform: str = 'logit',
                    num_resamples: int = NUM_RESAMPLES, seed: int = 0) -> TrendSamples:
  """Refits the trend on `num_resamples` resamples (with replacement) of the baseline models.

  Resamples whose models all share one ID score (no line) are redrawn.
  """
  t = transforms.get_transform(transform)
  x, y = t(id_scores), t(ood_scores)
  trend_lib.fit_trend(id_scores, ood_scores, transform)  # same checks as the point fit
  rng = rng_for(seed, 'trend')
  index = rng.integers(0, x.size, size=(num_resamples, x.size))
  slopes, intercepts = trend_lib.least_squares_lines(x[index], y[index])
  while np.isnan(slopes).any():
    redo = np.isnan(slopes)
    index = rng.integers(0, x.size, size=(redo.sum(), x.size))
    slopes[redo], intercepts[redo] = trend_lib.least_squares_lines(x[index], y[index])
  return TrendSamples(slopes, intercepts, transform)


def trend_band(samples: TrendSamples, id_grid, level: float = 0.95):
  """Pointwise percentile band (low, high) of the expected OOD score on `id_grid`."""
  return percentile_interval(samples.expected_ood(np.asarray(id_grid, np.float64)), level)


def resample_cell_counts(cells: confusion.ConfusionCells, num_resamples: int,
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
  cells = confusion.confusion_cells(labels, predictions)
  counts = resample_cell_counts(cells, num_resamples, rng)
  return (float(confusion.metric_from_counts(metric, cells)),
          confusion.metric_from_counts(metric, cells, counts))
