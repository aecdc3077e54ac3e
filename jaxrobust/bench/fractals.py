"""FractalDB rendering speed: the JAX renderer against the official per-point NumPy loop.

  python -m jaxrobust.bench fractals [--json] [--batch=32] [--batches=3] [--numpy_images=2]

Both render gray-patch FractalDB images at the official settings (362 px, 200,000
points) from the same searched systems, in the same run. `--json` ends the output with
one JSON line; `render_vs_numpy_ratio` = JAX images/s over NumPy images/s.
"""
import argparse
import sys
import time
from collections.abc import Sequence

import jax
import numpy as np

from jaxrobust import bench
from jaxrobust.datasets.fractals import RenderSettings, instances, reference, search


def _systems(count: int) -> search.Systems:
  """`count` accepted systems (cheap search settings: only the renderer is timed)."""
  settings = search.SearchSettings(num_points=20_000, image_size=256, batch_size=256)
  return search.search_categories(count, seed=0, settings=settings)


def _jax_images_per_second(systems: search.Systems, settings: RenderSettings,
                           batches: int) -> float:
  pairs = [(c % len(systems), i) for i in range(batches + 1) for c in range(settings.batch_size)]
  warmup, timed = pairs[:settings.batch_size], pairs[settings.batch_size:]
  for _ in instances.render_instances(systems, warmup, 0, settings):  # compiles
    pass
  start = time.perf_counter()
  for _ in instances.render_instances(systems, timed, 0, settings):
    pass
  return len(timed) / (time.perf_counter() - start)


def _numpy_images_per_second(systems: search.Systems, settings: RenderSettings,
                             count: int) -> float:
  rng = np.random.default_rng(0)
  start = time.perf_counter()
  for k in range(count):
    reference.render(systems.coeffs[k % len(systems)], systems.probs[k % len(systems)],
                     num_points=settings.num_points, size=settings.image_size, rng=rng)
  return count / (time.perf_counter() - start)


def run(batch: int, batches: int, numpy_images: int) -> dict[str, float | str | int]:
  """The figures: images/s of both renderers at 362 px / 200k points and their ratio."""
  settings = RenderSettings(image_size=362, num_points=200_000, batch_size=batch)
  systems = _systems(8)
  jax_rate = _jax_images_per_second(systems, settings, batches)
  numpy_rate = _numpy_images_per_second(systems, settings, numpy_images)
  return {
      'image_size': settings.image_size, 'num_points': settings.num_points,
      'backend': jax.default_backend(), 'devices': jax.device_count(),
      'jax_images_per_s': round(jax_rate, 2), 'numpy_images_per_s': round(numpy_rate, 4),
      'render_vs_numpy_ratio': round(jax_rate / numpy_rate, 1),
  }


def main(argv: Sequence[str]) -> None:
  """Parses `[--json] [--batch=N] [--batches=N] [--numpy_images=N]` and reports."""
  parser = argparse.ArgumentParser(prog='python -m jaxrobust.bench fractals')
  parser.add_argument('--json', action='store_true', help='end with one JSON line')
  parser.add_argument('--batch', type=int, default=32, help='images per JAX call')
  parser.add_argument('--batches', type=int, default=3, help='timed JAX calls')
  parser.add_argument('--numpy_images', type=int, default=2, help='timed NumPy images')
  args = parser.parse_args(argv)
  figures = run(args.batch, args.batches, args.numpy_images)
  bench.print_figures('FractalDB rendering at 362 px, 200,000 points per image (patch_gray)',
                      figures, args.json)


if __name__ == '__main__':
  main(sys.argv[1:])
