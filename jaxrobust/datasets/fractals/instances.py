"""FractalDB instances: weight-perturbed, flipped, patch-rendered images of category systems."""
import dataclasses
from collections.abc import Iterator, Sequence

import numpy as np
from jax.sharding import Mesh

from jaxrobust.datasets.fractals import ifs, render
from jaxrobust.datasets.fractals.search import Systems


@dataclasses.dataclass(frozen=True)
class RenderSettings:
  """How instances are drawn (official FractalDB: 362 px, 200k points, gray patches)."""
  image_size: int = 362
  render_size: int = 0  # 0: draw at image_size; larger: draw, then area-downsample
  num_points: int = 200_000
  num_chains: int = 1000
  color: bool = False
  batch_size: int = 32


def render_instances(systems: Systems, pairs: Sequence[tuple[int, int]], seed: int,
                     settings: RenderSettings, mesh: Mesh | None = None,
                     ) -> Iterator[tuple[int, int, np.ndarray]]:
  """Yields (category, instance, uint8 HxWx3 image) for each (category, instance) pair."""
  mesh = mesh or render.data_mesh()
  for start in range(0, len(pairs), settings.batch_size):
    chunk = np.asarray(pairs[start:start + settings.batch_size], np.int32)
    plans = [ifs.instance_plan(int(i)) for i in chunk[:, 1]]
    coeffs = np.stack([ifs.perturb(systems.coeffs[c], v) for c, (v, _) in zip(chunk[:, 0], plans)])
    probs = systems.probs[chunk[:, 0]]
    flips = np.asarray([f for _, f in plans], np.int32)
    images = render.run_sharded(
        render.render_images, mesh, coeffs, probs, chunk, flips, seed=seed,
        pad_to=settings.batch_size,
        num_points=settings.num_points, num_chains=settings.num_chains,
        render_size=settings.render_size or settings.image_size,
        image_size=settings.image_size, color=settings.color)
    for (category, instance), image in zip(chunk, images):
      yield int(category), int(instance), image
