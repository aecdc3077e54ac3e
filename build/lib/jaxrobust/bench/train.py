"""Training throughput of the engine: images/s, input wait, FLOP utilization.

  python -m jaxrobust.bench train [--json] [--archs=resnet18,resnet50]
      [--resolutions=64,128,224] [--batch_per_device=16] [--steps=5] [--num_workers=0]
      [--peak_tflops=X]

For each architecture and resolution (ImageNet stem; CPU defaults shown, accelerators
default to 128,224 with 128 images per device), the engine's jitted train step
(`step.make_train_step`, all devices, batch on `data`) runs
  - on one batch already on the devices: the step's own images/s;
  - fed by the engine's grain pipeline (decode + random-resized crop + flip) over a
    generated TFDS dataset of 320x256 JPEGs: images/s and the share of wall time the loop
    waits in `next(iterator)`.
FLOP utilization = the step's FLOPs (XLA cost analysis) x steps/s over the peak: a
jitted matmul measured in the same run, or `--peak_tflops` (the chip's stated peak).
Ratios: `input_vs_device_batch_ratio` (images/s fed by the pipeline over images/s on a
device batch; 1.0 = input never stalls) and `flop_utilization_ratio`, per row.
"""
import argparse
from collections.abc import Sequence
import json
import sys
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np
import tensorflow_datasets as tfds

from jaxrobust.configs import defaults
from jaxrobust.data import loading
from jaxrobust.data import pipeline
from jaxrobust.data import preprocess
from jaxrobust.data import toy
from jaxrobust.train import loop
from jaxrobust.train import mesh as mesh_lib
from jaxrobust.train import optim
from jaxrobust.train import step as step_lib

NUM_CLASSES = 1000
JPEG_SIZE = (320, 256)
NUM_JPEGS = 256


class BenchJpegs(toy.ToyImages):
  """Generated 320x256 JPEGs (smooth colour fields plus noise), for input-pipeline timing."""

  NUM_CLASSES = NUM_CLASSES
  SPLITS = {'train': NUM_JPEGS}
  ENCODING = 'jpeg'

  def render(self, label: int, rng: np.random.Generator) -> np.ndarray:
    del label
    width, height = JPEG_SIZE
    yy, xx = np.mgrid[0:height, 0:width] / max(width, height)
    phase = rng.uniform(0, 2 * np.pi, 3)
    field = 0.5 + 0.4 * np.sin(6 * xx[..., None] + 4 * yy[..., None] + phase)
    return np.clip(field * 255 + rng.normal(0, 12, field.shape), 0, 255).astype(np.uint8)


def _config(arch: str, resolution: int):
  config = defaults.run_defaults()
  config.model.name = arch
  config.model.stem = 'imagenet'
  config.model.dtype = 'float32' if jax.default_backend() == 'cpu' else 'bfloat16'
  config.data.image_size = resolution
  return config


def _compiled_train_step(config, mesh, batch):
  """(compiled step, initial state, FLOPs per step over all devices)."""
  model = loop.build_model(config, NUM_CLASSES)
  model_def, params, batch_stats = step_lib.split_model(model)
  tx, schedule = optim.make_optimizer(config.optimizer, 1000, params)
  state = step_lib.init_train_state(params, batch_stats, tx, mesh)
  train_step = step_lib.make_train_step(
      model_def, tx, schedule, mesh, normalization='imagenet',
      compute_dtype=loop.COMPUTE_DTYPES[config.model.dtype], label_smoothing=0.0, seed=0)
  compiled = train_step.lower(state, batch).compile()
  cost = compiled.cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  # The SPMD program's cost is per device.
  return compiled, state, float(cost.get('flops', 0.0)) * mesh.size


def _device_batch(mesh, batch_size: int, resolution: int):
  rng = np.random.default_rng(0)
  local = {'image': rng.integers(0, 256, (batch_size // jax.process_count(), resolution,
                                          resolution, 3), dtype=np.uint8),
           'label': rng.integers(0, NUM_CLASSES, batch_size // jax.process_count(),
                                 dtype=np.int32),
           'mask': np.ones(batch_size // jax.process_count(), bool)}
  return pipeline.global_batch(local, mesh_lib.batch_sharding(mesh))


def _time_steps(compiled, state, next_batch, steps: int) -> tuple[float, float, object]:
  """(seconds for `steps` steps, seconds spent waiting for input, final state)."""
  state, metrics = compiled(state, next_batch())  # warm-up (first run, allocations)
  jax.block_until_ready(metrics)
  wait = 0.0
  start = time.perf_counter()
  for _ in range(steps):
    wait_start = time.perf_counter()
    batch = next_batch()
    wait += time.perf_counter() - wait_start
    state, metrics = compiled(state, batch)
  jax.block_until_ready((state, metrics))
  return time.perf_counter() - start, wait, state


def measure_peak_flops() -> float:
  """FLOP/s of a large jitted matmul on one device, times the number of devices."""
  n, dtype = (2048, jnp.float32) if jax.default_backend() == 'cpu' else (8192, jnp.bfloat16)
  a = jnp.ones((n, n), dtype)
  matmul = jax.jit(lambda x: x @ x)
  matmul(a).block_until_ready()
  best = float('inf')
  for _ in range(3):
    start = time.perf_counter()
    matmul(a).block_until_ready()
    best = min(best, time.perf_counter() - start)
  return 2 * n**3 / best * jax.device_count()


def run_row(arch: str, resolution: int, *, batch_size: int, steps: int, source,
            num_workers: int, peak_flops: float, mesh) -> dict:
  """One table row: a model at a resolution, on a device batch and fed by the pipeline."""
  config = _config(arch, resolution)
  batch = _device_batch(mesh, batch_size, resolution)
  compile_start = time.perf_counter()
  compiled, state, flops = _compiled_train_step(config, mesh, batch)
  compile_seconds = time.perf_counter() - compile_start
  seconds, _, state = _time_steps(compiled, state, lambda: batch, steps)

  transform = preprocess.TrainPreprocess(image_size=resolution)
  iterator = pipeline.make_iterator(
      pipeline.train_dataset(source, transform, seed=0, global_batch_size=batch_size,
                             num_steps=steps + 1),
      num_workers=num_workers, prefetch=2)
  sharding = mesh_lib.batch_sharding(mesh)
  fed_seconds, wait, _ = _time_steps(
      compiled, state, lambda: pipeline.global_batch(next(iterator), sharding), steps)

  device_rate = steps * batch_size / seconds
  fed_rate = steps * batch_size / fed_seconds
  achieved = flops * steps / seconds
  return {
      'arch': arch, 'resolution': resolution, 'stem': config.model.stem,
      'dtype': config.model.dtype, 'batch': batch_size,
      'compile_s': round(compile_seconds, 1),
      'images_per_s': round(device_rate, 1),
      'images_per_s_with_input': round(fed_rate, 1),
      'input_wait_share': round(wait / fed_seconds, 3),
      'gflops_per_step': round(flops / 1e9, 2),
      'achieved_tflops': round(achieved / 1e12, 4),
      'flop_utilization_ratio': round(achieved / peak_flops, 4),
      'input_vs_device_batch_ratio': round(fed_rate / device_rate, 3),
  }


COLUMNS = ('arch', 'resolution', 'batch', 'dtype', 'images_per_s', 'images_per_s_with_input',
           'input_wait_share', 'gflops_per_step', 'flop_utilization_ratio', 'compile_s')


def _print_row(row: dict) -> None:
  print('  '.join(f'{str(row[c]):>12}' for c in COLUMNS), flush=True)


def run(archs: Sequence[str], resolutions: Sequence[int], *, batch_per_device: int,
        steps: int, num_workers: int, peak_tflops: float | None) -> dict:
  """Measures and prints every row; returns all figures (device, peak, rows)."""
  mesh = mesh_lib.make_mesh()
  peak = peak_tflops * 1e12 if peak_tflops else measure_peak_flops()
  figures = {'backend': jax.default_backend(), 'device': jax.devices()[0].device_kind,
             'devices': jax.device_count(), 'num_workers': num_workers,
             'peak_tflops': round(peak / 1e12, 4),
             'peak_source': 'stated' if peak_tflops else 'measured matmul', 'rows': []}
  print(f'Train step throughput on {figures["devices"]} x {figures["device"]} '
        f'({figures["backend"]}); peak {figures["peak_tflops"]} TFLOP/s '
        f'({figures["peak_source"]}); grain workers: {num_workers}')
  print('  '.join(f'{c:>12}' for c in COLUMNS), flush=True)
  tfds.disable_progress_bar()
  with tempfile.TemporaryDirectory() as data_dir:
    BenchJpegs(data_dir=data_dir, file_format='array_record').download_and_prepare()
    source = loading.open_split(loading.prepared_builder('bench_jpegs', data_dir), 'train')
    for arch in archs:
      for resolution in resolutions:
        row = run_row(arch, resolution, batch_size=batch_per_device * mesh.size, steps=steps,
                      source=source, num_workers=num_workers, peak_flops=peak, mesh=mesh)
        _print_row(row)
        figures['rows'].append(row)
  return figures


def main(argv: Sequence[str]) -> None:
  """Parses the flags in the module docstring, runs, prints the table (and JSON)."""
  on_cpu = jax.default_backend() == 'cpu'
  parser = argparse.ArgumentParser(prog='python -m jaxrobust.bench train')
  parser.add_argument('--json', action='store_true', help='end with one JSON line')
  parser.add_argument('--archs', default='resnet18,resnet50')
  parser.add_argument('--resolutions', default='64,128,224' if on_cpu else '128,224')
  parser.add_argument('--batch_per_device', type=int, default=16 if on_cpu else 128)
  parser.add_argument('--steps', type=int, default=5 if on_cpu else 20)
  parser.add_argument('--num_workers', type=int, default=0, help='grain worker processes')
  parser.add_argument('--peak_tflops', type=float, default=None,
                      help="the devices' stated peak (default: measure a matmul)")
  args = parser.parse_args(argv)
  figures = run(args.archs.split(','), [int(r) for r in args.resolutions.split(',')],
                batch_per_device=args.batch_per_device, steps=args.steps,
                num_workers=args.num_workers, peak_tflops=args.peak_tflops)
  if args.json:
    print(json.dumps(figures))


if __name__ == '__main__':
  main(sys.argv[1:])
