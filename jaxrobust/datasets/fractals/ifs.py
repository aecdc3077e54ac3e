"""Iterated function systems (IFS) as padded arrays, and FractalDB's instance perturbations.

A system is `coeffs` (max_maps, 6) holding the affine maps
`(x, y) -> (a x + b y + e, c x + d y + f)` as rows `(a, b, c, d, e, f)`, and
`probs` (max_maps,) holding each map's probability; unused rows have probability 0.
"""
import numpy as np

COEFF_NAMES = ('a', 'b', 'c', 'd', 'e', 'f')
# Kataoka et al. (ACCV 2020): an instance multiplies one coefficient (in every map)
# by one of these factors; together with the unperturbed system that gives 25 variants.
WEIGHT_FACTORS = (0.8, 0.9, 1.1, 1.2)
NUM_FLIPS = 4  # none, horizontal, vertical, both


def map_probabilities(coeffs: np.ndarray) -> np.ndarray:
  """FractalDB map probabilities: |det| of each linear part, normalised (zeros stay zero)."""
  det = np.abs(coeffs[..., 0] * coeffs[..., 3] - coeffs[..., 1] * coeffs[..., 2])
  total = det.sum(axis=-1, keepdims=True)
  return np.where(total > 0, det / np.where(total > 0, total, 1.0), 0.0).astype(np.float32)


def sample_system(rng: np.random.Generator, min_maps: int,
                  max_maps: int) -> tuple[np.ndarray, np.ndarray]:
  """One random IFS: min_maps..max_maps maps, coefficients uniform in [-1, 1], padded."""
  num_maps = int(rng.integers(min_maps, max_maps + 1))
  coeffs = np.zeros((max_maps, 6), np.float32)
  coeffs[:num_maps] = rng.uniform(-1.0, 1.0, (num_maps, 6))
  probs = map_probabilities(coeffs)
  probs[num_maps:] = 0.0
  return coeffs, probs


def _weight_variants() -> np.ndarray:
  """The 25 FractalDB weight vectors over (a..f): identity, then one coefficient x factor."""
  rows = [np.ones(6, np.float32)]
  for k in range(6):
    for factor in WEIGHT_FACTORS:
      row = np.ones(6, np.float32)
      row[k] = factor
      rows.append(row)
  return np.stack(rows)


WEIGHT_VARIANTS = _weight_variants()


def instance_plan(instance: int) -> tuple[int, int]:
  """(weight variant, flip) of an instance index; indices 0..99 cover every pair once.

  The flip varies fastest so that even a handful of instances sees all four flips;
  the random patch drawn per image supplies the rest of the variation (FractalDB-1k:
  25 weights x 4 flips x 10 patches = 1000 instances).
  """
  return (instance // NUM_FLIPS) % len(WEIGHT_VARIANTS), instance % NUM_FLIPS


def perturb(coeffs: np.ndarray, variant: int) -> np.ndarray:
  """The system's coefficients multiplied by one weight vector (probabilities unchanged)."""
  return (coeffs * WEIGHT_VARIANTS[variant]).astype(np.float32)
