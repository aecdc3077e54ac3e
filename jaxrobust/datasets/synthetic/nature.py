"""Natural-like photos of the taxonomy's species: one individual on a random scene.

Every photo draws a fresh background (an earth-toned biome, horizon, trunks, bushes), pose,
exposure, tint, blur, sensor noise and, sometimes, a night-time IR look. Nothing about
the background depends on the label, so a model trained on these photos can only
lower its loss by looking at the individual: its silhouette, coat colour and pattern.
"""
import numpy as np

from jaxrobust.datasets.synthetic import animals
from jaxrobust.datasets.synthetic import objects
from jaxrobust.datasets.synthetic import scenes
from jaxrobust.datasets.synthetic import taxonomy

NIGHT_PROBABILITY = 0.1
# Earth tones, red-brown to green (the benchmark's biomes span 0.05-0.25 before the shift).
BIOME_HUES = (0.0, 0.4)


def random_camera(rng: np.random.Generator, size: int) -> scenes.Location:
  """A one-off camera: an earth-toned background and photometric habits from a wide range."""
  horizon = rng.uniform(0.2, 0.6)
  return scenes.Location(
      background=scenes.background(rng, size, horizon, hue=rng.uniform(*BIOME_HUES)),
      horizon=horizon, distance=1.0, gain=rng.uniform(0.6, 1.2),
      tint=tuple(1.0 + rng.uniform(-0.15, 0.15, 3)), blur=rng.uniform(0.0, 0.8),
      noise=rng.uniform(0.0, 0.04), night_fraction=NIGHT_PROBABILITY, empty_fraction=0.0)


def render_photo(species: taxonomy.Species, size: int, rng: np.random.Generator) -> np.ndarray:
  """uint8 (size, size, 3) photo of one individual of `species`."""
  cam = random_camera(rng, size)
  # Object-centric, as photos in ImageNet are: the individual near the centre, filling
  # most of the frame (camera traps see theirs smaller and anywhere).
  scale = size * rng.uniform(0.3, 0.42)
  y_feet = rng.uniform(0.75, 0.95) * size
  x = rng.uniform(0.4, 0.6) * size
  angle = rng.uniform(-0.2, 0.2)
  if species.kingdom == taxonomy.ANIMAL:
    cls = species.animal
    rgb = np.clip(np.asarray(cls.coat_rgb) * rng.uniform(0.9, 1.1, 3), 0, 1)
    pose = animals.Pose(x=x, y_feet=y_feet, scale=scale * cls.size, angle=angle,
                        facing_left=bool(rng.uniform() < 0.5))
    colour, alpha = animals.draw(cls, rgb, pose, size)
  else:
    cls = species.outline
    rgb = np.clip(np.asarray(cls.rgb) * rng.uniform(0.9, 1.1, 3), 0, 1)
    colour, alpha = objects.draw(cls, rgb, x, y_feet, 0.8 * scale * cls.size, angle, size)
  scene = cam.background * (1 - alpha[..., None]) + colour * alpha[..., None]
  night = rng.uniform() < NIGHT_PROBABILITY
  return scenes.photograph(cam, scene, night, rng.uniform(0.75, 1.0), rng)
