"""The official FractalDB rendering written point by point in NumPy: the speed and
correctness reference for the JAX renderer (`python -m jaxrobust.bench fractals`)."""
import numpy as np

from jaxrobust.datasets.fractals.render import PAD


def chaos_game(coeffs: np.ndarray, probs: np.ndarray, num_points: int,
               rng: np.random.Generator) -> np.ndarray:
  """(num_points, 2) points of one chain from (0, 0), one random map per step."""
  used = probs > 0
  coeffs, cum = coeffs[used].astype(np.float64), np.cumsum(probs[used])
  points = np.empty((num_points, 2))
  x = y = 0.0
  for t in range(num_points):
    r = rng.random() * cum[-1]
    m = 0
    while m < len(cum) - 1 and r >= cum[m]:
      m += 1
    a, b, c, d, e, f = coeffs[m]
    x, y = a * x + b * y + e, c * x + d * y + f
    points[t] = x, y
  return points


def draw_patches(points: np.ndarray, size: int, patch: np.ndarray, pad: int = PAD) -> np.ndarray:
  """(size, size, C) float image: points min-max normalised, `patch` pasted at each in turn."""
  points = points.astype(np.float32)
  lo, hi = points.min(axis=0), points.max(axis=0)
  span = np.maximum(hi - lo, np.float32(1e-12))
  pix = ((points - lo) / span * np.float32(size - 1 - 2 * pad) + np.float32(pad)).astype(np.int32)
  image = np.zeros((size + 2, size + 2, patch.shape[-1]), np.float32)
  for x, y in pix:
    image[y:y + 3, x:x + 3] = patch  # centred on (x, y) in the unpadded image
  return image[1:-1, 1:-1]


def render(coeffs: np.ndarray, probs: np.ndarray, *, num_points: int, size: int,
           rng: np.random.Generator, flip: int = 0) -> np.ndarray:
  """uint8 (size, size, 3) FractalDB image (patch_gray) rendered point by point."""
  patch = np.repeat(rng.random((3, 3, 1), dtype=np.float32), 3, axis=-1)
  image = draw_patches(chaos_game(coeffs, probs, num_points, rng), size, patch)
  if flip % 2:
    image = image[:, ::-1]
  if flip // 2:
    image = image[::-1]
  return np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
