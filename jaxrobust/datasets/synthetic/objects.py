"""Object-like (non-animal) classes: a lobed outline with a surface pattern, drawn in NumPy.

An object is a star-shaped region r(theta) <= 1 + wobble * cos(lobes * theta + phase),
stretched by `aspect`, standing on the ground; its surface is plain, ringed or striped.
They play the non-animal classes of a natural pre-training source.
"""
import colorsys
import dataclasses

import numpy as np

PATTERNS = ('plain', 'rings', 'stripes')


@dataclasses.dataclass(frozen=True)
class ObjectClass:
  """Outline, surface and size of one object class."""
  lobes: int
  wobble: float
  phase: float
  aspect: float           # height / width
  rgb: tuple[float, float, float]
  pattern: str
  pattern_freq: float
  size: float


def sample_class(rng: np.random.Generator) -> ObjectClass:
  """A random object outline (an order of objects)."""
  return ObjectClass(
      lobes=int(rng.integers(0, 7)), wobble=rng.uniform(0.05, 0.4), phase=rng.uniform(0, 6.3),
      aspect=rng.uniform(0.5, 2.0),
      rgb=colorsys.hsv_to_rgb(rng.uniform(0, 1), rng.uniform(0.2, 0.8), rng.uniform(0.3, 0.9)),
      pattern=PATTERNS[rng.integers(len(PATTERNS))], pattern_freq=rng.uniform(2.0, 5.0),
      size=rng.uniform(0.7, 1.3))


def family_of(rng: np.random.Generator, order: ObjectClass) -> ObjectClass:
  """The order's outline, perturbed, with a surface pattern of the family's own."""
  return dataclasses.replace(
      order, aspect=float(np.clip(order.aspect * rng.uniform(0.8, 1.25), 0.4, 2.5)),
      phase=order.phase + rng.uniform(-0.5, 0.5),
      pattern=PATTERNS[rng.integers(len(PATTERNS))], pattern_freq=rng.uniform(2.0, 5.0))


def draw(cls: ObjectClass, rgb: np.ndarray, x: float, y_base: float, scale: float,
         angle: float, size: int, supersample: int = 2) -> tuple[np.ndarray, np.ndarray]:
  """(colour (size, size, 3), alpha (size, size)) of one object standing at (x, y_base)."""
  n = size * supersample
  py, px = np.mgrid[0:n, 0:n].astype(np.float32)
  px, py = (px + 0.5) / supersample, (py + 0.5) / supersample
  # Image -> object frame: centre one unit above the base, rotate back, scale, y up.
  dx, dy = px - x, (y_base - py) - scale * cls.aspect
  c, s = np.cos(-angle), np.sin(-angle)
  ox, oy = (c * dx - s * dy) / scale, (s * dx + c * dy) / (scale * cls.aspect)
  radius, theta = np.hypot(ox, oy), np.arctan2(oy, ox)
  mask = (radius <= 1.0 + cls.wobble * np.cos(cls.lobes * theta + cls.phase)).astype(np.float32)
  colour = np.broadcast_to(rgb, mask.shape + (3,)).copy()
  f = cls.pattern_freq
  if cls.pattern == 'rings':
    colour[np.sin(f * np.pi * radius) > 0.3] *= 0.35
  elif cls.pattern == 'stripes':
    colour[np.sin(f * np.pi * oy) > 0.3] *= 0.35
  colour *= mask[..., None]
  shape = (size, supersample, size, supersample)
  alpha = mask.reshape(shape).mean(axis=(1, 3))
  colour = colour.reshape(shape + (3,)).mean(axis=(1, 3)) / np.maximum(alpha, 1e-6)[..., None]
  return colour, alpha
