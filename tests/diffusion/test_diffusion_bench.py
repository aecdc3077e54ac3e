"""`python -m jaxrobust.bench diffusion` at its smallest: the documented figures as one JSON line."""
import json

from jaxrobust.bench import diffusion as diffusion_bench

FIGURES = {'pipeline', 'device', 'dtype', 'torch_threads', 'resolution', 'steps', 'batch',
           'guidance_scale', 'compile', 'images_per_s', 'seconds_per_image'}


def test_bench_diffusion_times_the_given_pipeline(tiny_pipeline_dir, capsys):
  diffusion_bench.main(['--json', f'--pipeline_dir={tiny_pipeline_dir}', '--resolution=32',
                        '--steps=1', '--batch=2', '--batches=1', '--device=cpu'])
  *table, last = capsys.readouterr().out.strip().splitlines()
  figures = json.loads(last)
  assert table and set(figures) == FIGURES
  assert figures['pipeline'] == tiny_pipeline_dir and figures['batch'] == 2
  assert figures['images_per_s'] > 0 and figures['seconds_per_image'] > 0
