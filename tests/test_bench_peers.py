"""Benchmarks against peers (PyTorch, tf.data) and the dry run's cost table, at their smallest."""
import importlib
import json

import jax
from jax.sharding import Mesh
import numpy as np
import pytest

from jaxrobust.bench import train as train_bench
from jaxrobust.study import cost
from jaxrobust.study import plan_study, run_study
from jaxrobust.train import mesh as mesh_lib

from tests.helpers.configs import load_config

input_bench = importlib.import_module('jaxrobust.bench.input')  # `input` shadows a builtin


def _last_json(out: str) -> dict:
  return json.loads(out.strip().splitlines()[-1])


def test_bench_input_compares_the_engine_with_tfdata_on_the_same_records(tmp_path, capsys):
  input_bench.main(['--json', '--num_images=8', '--timed_images=8', '--batch=4',
                    '--image_size=32', '--cores=1', '--rounds=1', '--threads_per_core=1',
                    '--pipelines=tfdata,engine_threads',
                    f'--data_dir={tmp_path}'])
  figures = _last_json(capsys.readouterr().out)
  row, = figures['rows']
  assert figures['num_images'] == 8 and row['cores'] == 1
  assert row['vs_tfdata_ratio'] == round(
      row['engine_threads_images_per_s'] / row['tfdata_images_per_s'], 3)
  assert figures['input_vs_tfdata_ratio'] == row['vs_tfdata_ratio'] > 0


@pytest.mark.slow
def test_bench_train_times_the_engine_step_against_pytorch():
  one_device = Mesh(np.asarray(jax.devices()[:1]), (mesh_lib.DATA_AXIS,))  # compiles faster
  figures = train_bench.run_torch_comparison(rounds=1, steps=1, batch_size=2, resolution=8,
                                             mesh=one_device, arch='resnet_tiny')
  assert figures['engine_s_per_step'] > 0 and figures['torch_nchw_s_per_step'] > 0
  assert figures['step_vs_torch_ratio'] == pytest.approx(
      figures['torch_nchw_s_per_step'] / figures['engine_s_per_step'], rel=0.01)
  assert figures['step_vs_torch_channels_last_ratio'] > 0


def test_bench_train_without_torch_says_so_and_gives_no_ratio(monkeypatch):
  monkeypatch.setattr(train_bench.importlib.util, 'find_spec', lambda name: None)
  figures = train_bench.run_torch_comparison(rounds=1, steps=1, batch_size=8, resolution=8,
                                             mesh=None)
  assert figures['step_vs_torch_ratio'] is None and 'not installed' in figures['torch']


def _row(resolution: int, images_per_s: float, **model) -> dict:
  return {'device': 'chip', 'devices': 4, 'arch': 'resnet18', 'stem': 'imagenet',
          'width': 1.0, 'dtype': 'float32', 'resolution': resolution, 'batch': 8,
          'images_per_s': images_per_s, **model}


def test_recording_a_step_time_replaces_the_same_setting_only(tmp_path):
  path = tmp_path / 'step_times.json'
  cost.record_rows(path, [_row(64, 100.0), _row(128, 30.0)])
  cost.record_rows(path, [_row(64, 120.0)])
  assert sorted((r['resolution'], r['images_per_s']) for r in cost.read_rows(path)) == [
      (64, 120.0), (128, 30.0)]


def test_an_unmeasured_resolution_is_scaled_by_pixels_from_the_nearest_measured_one():
  config = load_config('train')
  config.model.name, config.model.stem, config.model.dtype = 'resnet18', 'imagenet', 'float32'
  config.data.image_size = 224
  est = cost.estimate(config, 'chip', [_row(64, 1000.0), _row(112, 100.0)])
  assert est.scaled_from == 112 and abs(est.images_per_s - 25.0) < 1e-9 and est.devices == 4
  assert cost.estimate(config, 'other chip', [_row(112, 100.0)]) is None


def test_dry_run_prints_device_hours_per_run_and_for_the_study(tmp_path, capsys, monkeypatch):
  monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'cache'))
  config = load_config('quickstart', 'test')
  config.data_dir = str(tmp_path / 'data')
  runs = plan_study(config)
  model = runs[0].config.model
  cost.record_rows(cost.cache_path(), [
      {**_row(runs[0].config.data.image_size, 0.01, arch=model.name, stem=model.stem,
              width=model.width, dtype=model.dtype), 'device': cost.current_device()}])
  run_study(config, str(tmp_path / 'w'), dry_run=True)
  out = capsys.readouterr().out
  assert f'Estimated training cost on {cost.current_device()}' in out
  expected = runs[0].steps * runs[0].config.batch_size / 0.01 * 4 / 3600
  line, = [l for l in out.splitlines() if l.startswith(runs[0].run_id) and 'px' in l]
  assert f'{expected:.3g}' in line.split()
  assert 'Study total:' in out and 'device-hours' in out


def test_a_study_with_no_priced_run_says_unknown_not_zero(tmp_path, capsys, monkeypatch):
  monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'cache'))
  config = load_config('quickstart', 'test')
  config.data_dir = str(tmp_path / 'data')
  runs = plan_study(config)
  table = cost.cost_table(runs, 'a chip never measured', [])
  assert f'Study total: unknown ({len(runs)} run(s)' in table
  assert '0 device-hours' not in table
