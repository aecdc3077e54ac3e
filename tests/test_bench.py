"""Every benchmark runs at its smallest size and ends with one JSON line of its documented figures."""
import json
import math

import pytest

from jaxrobust.bench import __main__ as bench_main
from jaxrobust.bench import train as train_bench

# The smallest arguments of each benchmark and the keys of its JSON line (module docstrings).
SMALLEST = {
    'fractals': (['--batch=1', '--batches=1', '--numpy_images=1'],
                 {'image_size', 'num_points', 'backend', 'devices', 'jax_images_per_s',
                  'numpy_images_per_s', 'render_vs_numpy_ratio'}),
    'subsets': (['--num_examples=50', '--image_size=8', '--repeats=1'],
                {'base', 'num_examples', 'image_size', 'record_bytes', 'repeats',
                 'tfds_read_rps', 'tfds_read_decoded_rps', 'label_index_rps',
                 'materialize_rps', 'materialize_mb_s', 'file_write_mb_s',
                 'copy_vs_read_ratio', 'copy_vs_file_write_ratio'}),
    # The PyTorch reference of `train` and the `input` benchmark: tests/test_bench_peers.py.
    'train': (['--archs=resnet_tiny', '--resolutions=32', '--batch_per_device=1', '--steps=1',
               '--torch_rounds=0'],
              {'backend', 'device', 'devices', 'num_workers', 'peak_tflops', 'peak_source',
               'rows'}),
}
TRAIN_ROW = set(train_bench.COLUMNS) | {'stem', 'width', 'achieved_tflops',
                                        'input_vs_device_batch_ratio'}
# Benchmarks with their smoke tests elsewhere (their figures need a reference set up there).
TESTED_ELSEWHERE = {'input': 'tests/test_bench_peers.py', 'diffusion': 'tests/diffusion/test_diffusion_bench.py'}


def test_every_benchmark_has_a_smoke_test():
  assert sorted([*SMALLEST, *TESTED_ELSEWHERE]) == bench_main.benchmark_names()


@pytest.mark.slow
@pytest.mark.parametrize('name', sorted(SMALLEST))
def test_benchmark_prints_a_table_then_its_figures_as_one_json_line(name, capsys, monkeypatch):
  # Two batches of 8 is all the smallest train row reads; generating 256 JPEGs takes seconds.
  monkeypatch.setattr(train_bench.BenchJpegs, 'SPLITS', {'train': 16})
  args, keys = SMALLEST[name]
  bench_main.main([name, '--json', *args])
  *table, last = capsys.readouterr().out.strip().splitlines()
  figures = json.loads(last)
  assert table and set(figures) == keys
  rows = figures['rows'] if name == 'train' else [figures]
  if name == 'train':
    assert len(rows) == 1 and set(rows[0]) == TRAIN_ROW
  ratios = [row[k] for row in rows for k in row if k.endswith('_ratio')]
  assert ratios and all(math.isfinite(r) and r > 0 for r in ratios)
