"""Training throughput of the engine: images/s, input wait, FLOP utilization.

  python -m jaxrobust.bench train [--json] [--archs=resnet18,resnet50]
      [--resolutions=64,128,224] [--batch_per_device=16] [--steps=5] [--num_workers=0]
      [--stem=imagenet] [--width=1] [--dtype=float32] [--skip_input] [--peak_tflops=X]
      [--torch_rounds=3] [--torch_steps=3] [--torch_batch=64] [--torch_resolution=32]
      [--record[=FILE]]

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

Then, when torch is installed (default on CPU; `--torch_rounds=0` skips it), the engine's
ResNet-18 step with the small stem (3x3, no max-pool) at 32 px, batch 64, fp32, SGD with
momentum, is alternated with the same model and step in PyTorch (`_torch_resnet`, NCHW
and channels_last) for a few rounds: `step_vs_torch_ratio` = PyTorch NCHW s/step over the
engine's, median over the rounds (>1: the engine is faster). `--archs=` (empty) runs only
that comparison.

`--record` adds each row's device-batch images/s to the step-time table the study's
`--dry_run` estimates device-hours from (default: the user's cache, `study.cost`).
"""
import argparse
from collections.abc import Sequence
import importlib.util
import json
import os
import pathlib
import statistics
import sys
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np
import tensorflow_datasets as tfds

from jaxrobust.train import defaults
from jaxrobust.input import loading
from jaxrobust.input import pipeline
from jaxrobust.input import preprocess
from jaxrobust.datasets import toy
from jaxrobust.study import cost as cost_lib
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


def _config(arch: str, resolution: int, *, stem: str, width: float, dtype: str):
  config = defaults.run_defaults()
  config.model.name = arch
  config.model.stem = stem
  config.model.width = width
  config.model.dtype = dtype
  config.data.image_size = resolution
  return config


def _compiled_train_step(config, mesh, batch):
  """(compiled step, initial state, FLOPs per step over all devices)."""
  model = loop.init_model(config, NUM_CLASSES)
  model_def, params, batch_stats = step_lib.split_model(model)
  tx, schedule = optim.make_optimizer(config.optimizer, 1000, params)
  state = step_lib.init_train_state(params, batch_stats, jax.jit(tx.init), mesh)
  train_step = step_lib.make_train_step(
      model_def, tx, schedule, mesh, normalization='imagenet',
      compute_dtype=loop.COMPUTE_DTYPES[config.model.dtype], label_smoothing=0.0, seed=0)
  compiled = train_step.lower(state, batch).compile()
  cost = compiled.cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  # The SPMD program's cost is per device.
  return compiled, state, float(cost.get('flops', 0.0)) * mesh.size


def _host_batch(batch_size: int, resolution: int) -> dict[str, np.ndarray]:
  """This process's rows of a random uint8 batch."""
  rng, rows = np.random.default_rng(0), batch_size // jax.process_count()
  return {'image': rng.integers(0, 256, (rows, resolution, resolution, 3), dtype=np.uint8),
          'label': rng.integers(0, NUM_CLASSES, rows, dtype=np.int32),
          'mask': np.ones(rows, bool)}


def _device_batch(mesh, batch_size: int, resolution: int):
  return pipeline.global_batch(_host_batch(batch_size, resolution),
                               mesh_lib.batch_sharding(mesh))


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


def run_row(arch: str, resolution: int, *, model: dict, batch_size: int, steps: int,
            source, num_workers: int, peak_flops: float, mesh) -> dict:
  """One table row: a model at a resolution, on a device batch and (unless `source` is None)
  fed by the pipeline. `model`: stem, width and dtype."""
  config = _config(arch, resolution, **model)
  batch = _device_batch(mesh, batch_size, resolution)
  compile_start = time.perf_counter()
  compiled, state, flops = _compiled_train_step(config, mesh, batch)
  compile_seconds = time.perf_counter() - compile_start
  seconds, _, state = _time_steps(compiled, state, lambda: batch, steps)
  device_rate = steps * batch_size / seconds
  achieved = flops * steps / seconds
  row = {
      'arch': arch, 'resolution': resolution, 'stem': config.model.stem,
      'width': config.model.width, 'dtype': config.model.dtype, 'batch': batch_size,
      'compile_s': round(compile_seconds, 1),
      'images_per_s': round(device_rate, 1),
      'gflops_per_step': round(flops / 1e9, 2),
      'achieved_tflops': round(achieved / 1e12, 4),
      'flop_utilization_ratio': round(achieved / peak_flops, 4),
  }
  if source is None:
    return row

  transform = preprocess.TrainPreprocess(image_size=resolution)
  iterator = pipeline.make_iterator(
      pipeline.train_dataset(source, transform, seed=0, global_batch_size=batch_size,
                             num_steps=steps + 1),
      num_workers=num_workers, prefetch=2)
  sharding = mesh_lib.batch_sharding(mesh)
  fed_seconds, wait, _ = _time_steps(
      compiled, state, lambda: pipeline.global_batch(next(iterator), sharding), steps)

  fed_rate = steps * batch_size / fed_seconds
  return {**row, 'images_per_s_with_input': round(fed_rate, 1),
          'input_wait_share': round(wait / fed_seconds, 3),
          'input_vs_device_batch_ratio': round(fed_rate / device_rate, 3)}


def run_torch_comparison(*, rounds: int, steps: int, batch_size: int, resolution: int,
                         mesh, dtype: str = 'float32', arch: str = 'resnet18') -> dict:
  """The engine's ResNet step (small stem) against PyTorch's, alternated for `rounds`.

  Each round times `steps` steps of each implementation in turn on the same uint8 batch;
  the figures are medians over the rounds. `step_vs_torch_ratio` = PyTorch NCHW s/step
  over the engine's (>1: the engine is faster). PyTorch computes in fp32; the engine in
  `dtype` (params, BatchNorm statistics and loss stay fp32).
  """
  if importlib.util.find_spec('torch') is None:
    return {'torch': 'not installed (pip install torch, or the diffusion extra)',
            'step_vs_torch_ratio': None}
  from jaxrobust.bench import _torch_resnet  # pylint: disable=import-outside-toplevel
  config = _config(arch, resolution, stem='small', width=1.0, dtype=dtype)
  host_batch = _host_batch(batch_size, resolution)
  batch = pipeline.global_batch(host_batch, mesh_lib.batch_sharding(mesh))
  compiled, state, _ = _compiled_train_step(config, mesh, batch)
  opt = config.optimizer
  torch_steps = {
      name: _torch_resnet.make_train_step(
          arch=arch, num_classes=NUM_CLASSES, batch=host_batch, channels_last=channels_last,
          learning_rate=opt.learning_rate, momentum=opt.momentum,
          weight_decay=opt.weight_decay)
      for name, channels_last in (('torch_nchw', False), ('torch_channels_last', True))}
  for torch_step in torch_steps.values():
    torch_step()  # warm-up
  samples = {'engine': [], **{name: [] for name in torch_steps}}
  for _ in range(rounds):
    seconds, _, state = _time_steps(compiled, state, lambda: batch, steps)
    samples['engine'].append(seconds / steps)
    for name, torch_step in torch_steps.items():
      samples[name].append(_torch_resnet.seconds_per_step(torch_step, steps))
  median = {name: statistics.median(v) for name, v in samples.items()}
  return {
      'torch': _torch_resnet.torch.__version__, 'torch_threads': os.cpu_count(),
      'torch_model': f'{arch} small stem, {resolution} px, batch {batch_size}, sgd',
      'engine_dtype': dtype,
      'torch_rounds': rounds, 'torch_steps_per_round': steps,
      # 4 significant digits: a millisecond step keeps its precision (and its ratio checkable).
      **{f'{name}_s_per_step': float(f'{m:.4g}') for name, m in median.items()},
      'torch_samples_s_per_step': {n: [float(f'{x:.4g}') for x in v]
                                   for n, v in samples.items()},
      'step_vs_torch_ratio': round(median['torch_nchw'] / median['engine'], 3),
      'step_vs_torch_channels_last_ratio': round(
          median['torch_channels_last'] / median['engine'], 3),
  }


def _print_torch_comparison(figures: dict) -> None:
  if figures['step_vs_torch_ratio'] is None:
    print(f'PyTorch reference: torch {figures["torch"]}; no step_vs_torch_ratio.')
    return
  print(f'Against PyTorch {figures["torch"]} ({figures["torch_model"]}; median of '
        f'{figures["torch_rounds"]} alternated rounds of {figures["torch_steps_per_round"]} '
        f'steps): engine ({figures["engine_dtype"]}) {figures["engine_s_per_step"]} s/step, '
        f'torch NCHW (float32) '
        f'{figures["torch_nchw_s_per_step"]}, torch channels_last '
        f'{figures["torch_channels_last_s_per_step"]}; step_vs_torch_ratio '
        f'{figures["step_vs_torch_ratio"]} (channels_last: '
        f'{figures["step_vs_torch_channels_last_ratio"]})', flush=True)


COLUMNS = ('arch', 'resolution', 'batch', 'dtype', 'images_per_s', 'images_per_s_with_input',
           'input_wait_share', 'gflops_per_step', 'flop_utilization_ratio', 'compile_s')


def _print_row(row: dict) -> None:
  print('  '.join(f'{str(row.get(c, "-")):>12}' for c in COLUMNS), flush=True)


def run(args: argparse.Namespace) -> dict:
  """Measures and prints every row and the PyTorch comparison (flags as in `main`)."""
  mesh = mesh_lib.make_mesh()
  peak = args.peak_tflops * 1e12 if args.peak_tflops else measure_peak_flops()
  figures = {'backend': jax.default_backend(), 'device': jax.devices()[0].device_kind,
             'devices': jax.device_count(), 'num_workers': args.num_workers,
             'peak_tflops': round(peak / 1e12, 4),
             'peak_source': 'stated' if args.peak_tflops else 'measured matmul', 'rows': []}
  print(f'Train step throughput on {figures["devices"]} x {figures["device"]} '
        f'({figures["backend"]}); peak {figures["peak_tflops"]} TFLOP/s '
        f'({figures["peak_source"]}); grain workers: {args.num_workers}')
  print('  '.join(f'{c:>12}' for c in COLUMNS), flush=True)
  model = {'stem': args.stem, 'width': args.width, 'dtype': args.dtype}
  tfds.disable_progress_bar()
  with tempfile.TemporaryDirectory() as data_dir:
    source = None
    if not args.skip_input:
      BenchJpegs(data_dir=data_dir, file_format='array_record').download_and_prepare()
      source = loading.open_split(loading.open_dataset('bench_jpegs', data_dir), 'train')
    for arch in [a for a in args.archs.split(',') if a]:
      for resolution in [int(r) for r in args.resolutions.split(',')]:
        row = run_row(arch, resolution, model=model,
                      batch_size=args.batch_per_device * mesh.size, steps=args.steps,
                      source=source, num_workers=args.num_workers, peak_flops=peak, mesh=mesh)
        _print_row(row)
        figures['rows'].append(row)
  if args.torch_rounds:
    figures.update(run_torch_comparison(
        rounds=args.torch_rounds, steps=args.torch_steps, batch_size=args.torch_batch,
        resolution=args.torch_resolution, mesh=mesh, dtype=args.dtype))
    _print_torch_comparison(figures)
  return figures


def _record(figures: dict, path: pathlib.Path, argv: Sequence[str]) -> None:
  """Adds the rows' device-batch images/s to the step-time table the dry run reads."""
  device = cost_lib.device_name(figures['device'], figures['devices'])
  command = ' '.join(['python -m jaxrobust.bench train', *argv])
  cost_lib.record_rows(path, [
      {'device': device, 'devices': figures['devices'],
       **{k: row[k] for k in ('arch', 'stem', 'width', 'dtype', 'resolution', 'batch',
                              'images_per_s')},
       'command': command, 'date': time.strftime('%Y-%m-%d')} for row in figures['rows']])
  print(f'Recorded {len(figures["rows"])} step time(s) for {device} in {path}')


def main(argv: Sequence[str]) -> None:
  """Parses the flags in the module docstring, runs, prints the table (and JSON)."""
  on_cpu = jax.default_backend() == 'cpu'
  parser = argparse.ArgumentParser(prog='python -m jaxrobust.bench train')
  parser.add_argument('--json', action='store_true', help='end with one JSON line')
  parser.add_argument('--archs', default='resnet18,resnet50', help='empty: no table rows')
  parser.add_argument('--resolutions', default='64,128,224' if on_cpu else '128,224')
  parser.add_argument('--stem', default='imagenet', choices=('imagenet', 'small'))
  parser.add_argument('--width', type=float, default=1.0, help='channel-width multiplier')
  parser.add_argument('--dtype', default='float32' if on_cpu else 'bfloat16',
                      choices=sorted(loop.COMPUTE_DTYPES), help='compute dtype')
  parser.add_argument('--batch_per_device', type=int, default=16 if on_cpu else 128)
  parser.add_argument('--steps', type=int, default=5 if on_cpu else 20)
  parser.add_argument('--num_workers', type=int, default=0, help='grain worker processes')
  parser.add_argument('--skip_input', action='store_true',
                      help='time the step on a device batch only, not fed by the pipeline')
  parser.add_argument('--peak_tflops', type=float, default=None,
                      help="the devices' stated peak (default: measure a matmul)")
  parser.add_argument('--torch_rounds', type=int, default=3 if on_cpu else 0,
                      help='alternated rounds against PyTorch (0: skip)')
  parser.add_argument('--torch_steps', type=int, default=3, help='timed steps per round')
  parser.add_argument('--torch_batch', type=int, default=64)
  parser.add_argument('--torch_resolution', type=int, default=32)
  parser.add_argument('--record', nargs='?', type=pathlib.Path, const=cost_lib.cache_path(),
                      default=None, help='add the rows to this step-time table (default: '
                      'the cache `--dry_run` reads)')
  args = parser.parse_args(argv)
  figures = run(args)
  if args.record:
    _record(figures, args.record, argv)
  if args.json:
    print(json.dumps(figures))


if __name__ == '__main__':
  main(sys.argv[1:])
