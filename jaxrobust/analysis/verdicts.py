"""Three-way verdicts on a difference in ER points: different, equivalent or inconclusive.

- different: the `level` interval (95 %) excludes 0;
- equivalent: the 2 * level - 1 interval (90 %) lies inside -+ margin, i.e. both one-sided
  tests at 1 - level (5 %) reject a difference of margin or more (TOST); this wins over
  `different`, so a resolved difference smaller than the margin is `equivalent`;
- inconclusive: neither.
"""
import dataclasses

import numpy as np

from jaxrobust.analysis import bootstrap
from jaxrobust.analysis import errors

DIFFERENT = 'different'
EQUIVALENT = 'equivalent'
INCONCLUSIVE = 'inconclusive'
VERDICTS = (DIFFERENT, EQUIVALENT, INCONCLUSIVE)
# ER points: the smallest difference worth reporting that groups of a practical size can
# bound. Groups of 9 runs show two settings without a difference `equivalent` 80% of the
# time when one run's ER spreads by 1 point between runs, test-set noise included
# (`analysis power`); 2 points is also under a fifth of the quantity effect the quickstart
# resolves. Studies with noisier runs need more runs or a declared wider margin.
DEFAULT_MARGIN = 2.0


def check_margin(margin: float) -> float:
  """The margin as a float; a clear error unless it is positive and finite."""
  if not (np.isfinite(margin) and margin > 0):
    raise errors.AnalysisError(
        f'The equivalence margin must be a positive number of ER points, got {margin} '
        f'(--equivalence_margin, e.g. {DEFAULT_MARGIN}).')
  return float(margin)


def equivalence_level(level: float) -> float:
  """The interval level of the two one-sided tests at 1 - level: 2 * level - 1 (0.90 for 0.95)."""
  return 2 * level - 1


def resolved(low: float, high: float) -> bool:
  """Whether an interval excludes 0."""
  return bool(low > 0 or high < 0)


def verdict(low: float, high: float, equivalence_low: float, equivalence_high: float,
            margin: float) -> str:
  """The verdict from the `level` interval (low, high) and the 2 * level - 1 interval."""
  if -margin < equivalence_low and equivalence_high < margin:
    return EQUIVALENT
  return DIFFERENT if resolved(low, high) else INCONCLUSIVE


@dataclasses.dataclass(frozen=True)
class Judged:
  """A difference's intervals and verdict, as the CSV columns name them."""
  low: float
  high: float
  equivalence_low: float
  equivalence_high: float
  verdict: str
  margin: float

  def columns(self, prefix: str = '') -> dict:
    """The fields as CSV columns, each name after `prefix` ('er_' gives er_low, er_high...)."""
    return {f'{prefix}{k}' if k in ('low', 'high') else k: v
            for k, v in dataclasses.asdict(self).items()}


def judge(replicates: np.ndarray, margin: float, level: float = 0.95) -> Judged:
  """Intervals and verdict of a difference from its (B,) bootstrap replicates."""
  low, high = bootstrap.percentile_interval(replicates, level)
  eq_low, eq_high = bootstrap.percentile_interval(replicates, equivalence_level(level))
  low, high, eq_low, eq_high = map(float, (low, high, eq_low, eq_high))
  return Judged(low, high, eq_low, eq_high, verdict(low, high, eq_low, eq_high, margin), margin)
