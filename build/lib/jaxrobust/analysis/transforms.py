"""Score transforms for the trend fit: logit (default), probit, identity."""
import dataclasses
from typing import Callable

import numpy as np
from scipy import special

from jaxrobust.analysis import errors

EPS = 1e-4  # scores are clipped to [EPS, 1 - EPS] before transforming


@dataclasses.dataclass(frozen=True)
class Transform:
  """A monotone map of scores in (0, 1) to the real line and its inverse."""
  name: str
  forward: Callable[[np.ndarray], np.ndarray]
  inverse: Callable[[np.ndarray], np.ndarray]

  def __call__(self, scores) -> np.ndarray:
    """Clips scores to [EPS, 1 - EPS], then transforms them."""
    return self.forward(clip_scores(scores))


def clip_scores(scores) -> np.ndarray:
  """Scores as float arrays clipped to [EPS, 1 - EPS] (so 0 and 1 stay finite)."""
  return np.clip(np.asarray(scores, dtype=np.float64), EPS, 1.0 - EPS)


def _identity(x):
  return np.asarray(x, dtype=np.float64)


TRANSFORMS = {
    'logit': Transform('logit', special.logit, special.expit),
    'probit': Transform('probit', special.ndtri, special.ndtr),
    'identity': Transform('identity', _identity, _identity),
}


def get_transform(name: str) -> Transform:
  """The transform called `name` ('logit', 'probit' or 'identity')."""
  if name not in TRANSFORMS:
    raise errors.AnalysisError(
        f'Unknown transform {name!r}: use one of {sorted(TRANSFORMS)} (--transform).')
  return TRANSFORMS[name]
