"""Camera-trap locations: a fixed background scene per camera and its photometric habits.

`shift` moves a location's attributes away from the training distribution
(0: an unseen camera of the same kind; 1: a different biome, farther, darker,
blurrier, noisier camera). Training locations use shift 0.
"""
import colorsys
import dataclasses

import numpy as np
from PIL import Image, ImageFilter


@dataclasses.dataclass(frozen=True)
class Location:
  """One camera: its background image and how it photographs."""
  background: np.ndarray   # (S, S, 3) float in [0, 1]
  horizon: float           # fraction of the height where the ground starts
  distance: float          # animal scale multiplier (farther cameras see smaller animals)
  gain: float              # daylight exposure
  tint: tuple[float, float, float]
  blur: float              # Gaussian blur radius in pixels (at 64 px; scaled with size)
  noise: float             # sensor noise std
  night_fraction: float    # share of triggers at night (IR, grayscale)
  empty_fraction: float    # share of sequences with no animal


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
  """(size, size) low-frequency noise in [0, 1] (bilinear upsampling of a random grid)."""
  grid = rng.uniform(0, 1, (cells, cells)).astype(np.float32)
  return np.asarray(Image.fromarray(grid, mode='F').resize((size, size), Image.BILINEAR))


def _hsv(h: float, s: float, v: float) -> np.ndarray:
  return np.asarray(colorsys.hsv_to_rgb(h % 1.0, np.clip(s, 0, 1), np.clip(v, 0, 1)), np.float32)


def background(rng: np.random.Generator, size: int, horizon: float, hue: float) -> np.ndarray:
  """Sky or canopy above the horizon, textured ground below, a few trunks and bushes."""
  yy = (np.arange(size, dtype=np.float32)[:, None] + 0.5) / size
  ground = _hsv(hue, rng.uniform(0.25, 0.6), rng.uniform(0.35, 0.7))
  upper = (_hsv(0.58 + rng.uniform(-0.05, 0.05), rng.uniform(0.1, 0.4), rng.uniform(0.7, 0.95))
           if rng.uniform() < 0.5 else _hsv(hue + 0.12, rng.uniform(0.4, 0.7), rng.uniform(0.2, 0.45)))
  texture = (0.6 * _smooth_noise(rng, size, 4) + 0.4 * _smooth_noise(rng, size, int(rng.integers(8, 20))))
  image = np.where((yy < horizon)[..., None], upper, ground) * (0.7 + 0.6 * texture)[..., None]
  xx = (np.arange(size, dtype=np.float32)[None, :] + 0.5) / size
  for _ in range(int(rng.integers(0, 4))):  # trunks
    x0, w = rng.uniform(0, 1), rng.uniform(0.02, 0.08)
    trunk = (np.abs(xx - x0) < w / 2) & (yy < horizon + rng.uniform(0.05, 0.3))
    image = np.where(trunk[..., None], _hsv(0.07, 0.5, rng.uniform(0.15, 0.4)), image)
  for _ in range(int(rng.integers(1, 5))):  # bushes
    cx, cy, r = rng.uniform(0, 1), rng.uniform(horizon, 1.0), rng.uniform(0.05, 0.18)
    bush = (xx - cx) ** 2 + ((yy - cy) * 1.6) ** 2 < r ** 2
    image = np.where(bush[..., None], _hsv(hue + 0.15, 0.6, rng.uniform(0.2, 0.5)), image)
  return np.clip(image, 0, 1).astype(np.float32)


def sample_location(rng: np.random.Generator, size: int, shift: float) -> Location:
  """A random camera; `shift` > 0 draws it from a displaced distribution (OOD cameras)."""
  hue = rng.uniform(0.05, 0.25) + shift * rng.choice([-1, 1]) * rng.uniform(0.05, 0.15)
  horizon = rng.uniform(0.25, 0.5)
  return Location(
      background=background(rng, size, horizon, hue),
      horizon=horizon,
      distance=rng.uniform(0.8, 1.2) * (1.0 - 0.3 * shift * rng.uniform(0, 1)),
      gain=rng.uniform(0.8, 1.15) * (1.0 - 0.25 * shift * rng.uniform(0, 1)),
      tint=tuple(1.0 + rng.uniform(-0.08, 0.08, 3) * (1.0 + shift)),
      blur=rng.uniform(0.0, 0.6) + shift * rng.uniform(0.0, 0.8),
      noise=rng.uniform(0.01, 0.035) + shift * rng.uniform(0.0, 0.03),
      night_fraction=rng.uniform(0.05, 0.25),
      empty_fraction=rng.uniform(0.2, 0.5),
  )


def photograph(location: Location, scene: np.ndarray, night: bool, hour_light: float,
               rng: np.random.Generator) -> np.ndarray:
  """uint8 (S, S, 3) frame: exposure and tint, night IR, lens blur, sensor noise."""
  size = scene.shape[0]
  if night:
    yy, xx = np.mgrid[0:size, 0:size] / size - 0.5
    flash = 1.1 - 1.2 * (xx ** 2 + yy ** 2)   # IR flash falls off towards the corners
    image = np.repeat((scene.mean(axis=-1) * flash * 0.8)[..., None], 3, axis=-1)
    noise = 2.0 * location.noise
  else:
    image = scene * location.gain * hour_light * np.asarray(location.tint, np.float32)
    noise = location.noise
  radius = location.blur * size / 64
  if radius > 0.05:
    blurred = Image.fromarray(np.uint8(np.clip(image, 0, 1) * 255)).filter(
        ImageFilter.GaussianBlur(radius))
    image = np.asarray(blurred, np.float32) / 255
  image = image + rng.normal(0.0, noise, image.shape)
  return np.uint8(np.clip(image, 0, 1) * 255 + 0.5)
