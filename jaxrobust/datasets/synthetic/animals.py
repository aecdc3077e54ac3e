"""Animal-like foreground classes: a parametric body plan and coat per class, drawn in NumPy.

An animal is a union of simple parts in its own frame (body ellipse, head disc on a
neck, four legs, a tail), x pointing forward, y up, body length ~2 units; a coat
pattern (plain, stripes, spots, pale belly) is evaluated in that frame so it moves
with the animal.
"""
import colorsys
import dataclasses

import numpy as np

PATTERNS = ('plain', 'stripes', 'spots', 'belly')
ACTIVITY = ('diurnal', 'nocturnal', 'any')
# An animal's body (2 units long) spans about half the frame at mid depth.
BODY_SCALE = 0.28


@dataclasses.dataclass(frozen=True)
class AnimalClass:
  """Body plan, coat and habits of one foreground class."""
  body_height: float
  head_radius: float
  neck_height: float
  leg_length: float
  leg_width: float
  tail_length: float
  size: float
  coat_rgb: tuple[float, float, float]
  pattern: str
  pattern_freq: float
  activity: str


@dataclasses.dataclass(frozen=True)
class Pose:
  """Where and how one animal stands in an image (pixels, radians)."""
  x: float
  y_feet: float
  scale: float        # pixels per body unit
  angle: float
  facing_left: bool


def body_scale(size: int, depth: float) -> float:
  """Pixels per body unit of an animal standing at `depth` (0 far .. 1 near) in a size-px frame."""
  return size * BODY_SCALE * (0.6 + 0.6 * depth)


def sample_class(rng: np.random.Generator) -> AnimalClass:
  """A random, distinct-looking animal class."""
  hue, sat, val = rng.uniform(0, 1), rng.uniform(0.2, 0.8), rng.uniform(0.3, 0.9)
  return AnimalClass(
      body_height=rng.uniform(0.35, 0.75), head_radius=rng.uniform(0.22, 0.5),
      neck_height=rng.uniform(0.0, 1.0), leg_length=rng.uniform(0.25, 1.0),
      leg_width=rng.uniform(0.08, 0.16), tail_length=rng.uniform(0.0, 0.9),
      size=rng.uniform(0.7, 1.3), coat_rgb=colorsys.hsv_to_rgb(hue, sat, val),
      pattern=PATTERNS[rng.integers(len(PATTERNS))], pattern_freq=rng.uniform(2.0, 5.0),
      activity=ACTIVITY[rng.integers(len(ACTIVITY))])


def _in_segment(x, y, x0, y0, x1, y1, half_width):
  """Mask of points within half_width of the segment (x0, y0)-(x1, y1)."""
  dx, dy = x1 - x0, y1 - y0
  t = np.clip(((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy + 1e-9), 0.0, 1.0)
  return (x - x0 - t * dx) ** 2 + (y - y0 - t * dy) ** 2 <= half_width ** 2


def body_mask(cls: AnimalClass, x: np.ndarray, y: np.ndarray) -> np.ndarray:
  """Mask of the animal's silhouette at animal-frame coordinates (feet at y=0)."""
  hb = cls.body_height / 2
  cy = cls.leg_length + hb                     # body centre height
  body = (x / 1.0) ** 2 + ((y - cy) / hb) ** 2 <= 1.0
  head_x, head_y = 1.0 + 0.6 * cls.head_radius, cy + cls.neck_height
  head = (x - head_x) ** 2 + (y - head_y) ** 2 <= cls.head_radius ** 2
  neck = _in_segment(x, y, 0.7, cy, head_x, head_y, 0.45 * cls.head_radius)
  legs = np.zeros_like(body)
  for leg_x in (-0.65, -0.45, 0.45, 0.65):
    legs |= _in_segment(x, y, leg_x, cy - 0.5 * hb, leg_x, 0.0, cls.leg_width / 2)
  tail = _in_segment(x, y, -1.0, cy + 0.3 * hb, -1.0 - cls.tail_length,
                     cy + 0.3 * hb - 0.6 * cls.tail_length, 0.05) if cls.tail_length > 0.05 else False
  return body | head | neck | legs | tail


def coat(cls: AnimalClass, rgb: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
  """(..., 3) coat colours at animal-frame points, base colour `rgb` with the class pattern."""
  base = np.broadcast_to(rgb, x.shape + (3,)).copy()
  f = cls.pattern_freq
  if cls.pattern == 'stripes':
    dark = np.sin(f * np.pi * x) > 0.3
  elif cls.pattern == 'spots':
    dark = np.sin(f * np.pi * x) * np.sin(f * np.pi * y) > 0.5
  elif cls.pattern == 'belly':
    dark = y < cls.leg_length + 0.35 * cls.body_height
    base[dark] = np.minimum(1.0, base[dark] * 0.4 + 0.6)
    return base
  else:
    return base
  base[dark] *= 0.35
  return base


def draw(cls: AnimalClass, rgb: np.ndarray, pose: Pose, size: int,
         supersample: int = 2) -> tuple[np.ndarray, np.ndarray]:
  """(colour (size, size, 3), alpha (size, size)) of one animal, anti-aliased."""
  n = size * supersample
  py, px = np.mgrid[0:n, 0:n].astype(np.float32)
  px, py = (px + 0.5) / supersample, (py + 0.5) / supersample
  # Image -> animal frame: translate to the feet, rotate back, scale, mirror, y up.
  dx, dy = px - pose.x, pose.y_feet - py
  c, s = np.cos(-pose.angle), np.sin(-pose.angle)
  ax, ay = (c * dx - s * dy) / pose.scale, (s * dx + c * dy) / pose.scale
  if pose.facing_left:
    ax = -ax
  mask = body_mask(cls, ax, ay).astype(np.float32)
  colour = coat(cls, rgb, ax, ay) * mask[..., None]
  shape = (size, supersample, size, supersample)
  alpha = mask.reshape(shape).mean(axis=(1, 3))
  colour = colour.reshape(shape + (3,)).mean(axis=(1, 3)) / np.maximum(alpha, 1e-6)[..., None]
  return colour, alpha
