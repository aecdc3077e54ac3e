"""--dry_run of every study config: the plan table, and what data is missing, building nothing."""
import json
import re
import os
import subprocess
import sys

import pytest

from jaxrobust.study import plan_study, run_study

from tests.helpers.configs import REPO, load_config
from tests.helpers.study import STUDIES

# The real datasets the paper-scale configs read, as prepared TFDS folders (name -> version dir).
REAL = {'imagenet2012': 'imagenet2012/5.1.0', 'inaturalist/2021_mini': 'inaturalist/2021_mini/1.0.0',
        'iwildcam/448': 'iwildcam/448/2.0.0'}


def _prepared(data_dir, version_dir: str, train_examples: int) -> None:
  """A built TFDS dataset as the dry run sees it: its dataset_info.json."""
  path = os.path.join(data_dir, version_dir)
  os.makedirs(path, exist_ok=True)
  with open(os.path.join(path, 'dataset_info.json'), 'w') as f:
    json.dump({'name': version_dir.split('/')[0],
               'splits': [{'name': 'train', 'shardLengths': [str(train_examples)]}]}, f)


def _dry_run(config, workdir, capsys, only=None) -> str:
  run_study(config, str(workdir), dry_run=True, only=only)
  return capsys.readouterr().out


@pytest.mark.parametrize('study', STUDIES)
def test_dry_run_of_paper_config_names_missing_manual_data(study, tmp_path, capsys):
  config = load_config(study)
  config.data_dir = str(tmp_path / 'empty')
  out = _dry_run(config, tmp_path / 'w', capsys)
  for run in plan_study(config):
    assert run.run_id in out
  if study == 'quickstart':  # offline by design
    assert 'MISSING' not in out
  else:
    assert 'MISSING manual data for iwildcam/448' in out
  if study in ('quantity', 'granularity', 'semantics', 'diversity', 'sources'):
    assert 'MISSING manual data for imagenet2012: manual_dir should contain' in out
  assert not os.path.exists(tmp_path / 'w') and not os.path.exists(tmp_path / 'empty')


@pytest.mark.parametrize('study', STUDIES)
def test_dry_run_with_real_datasets_present_reports_them_ready(study, tmp_path, capsys):
  config = load_config(study)
  config.data_dir = str(tmp_path / 'data')
  for version_dir in REAL.values():
    _prepared(config.data_dir, version_dir, train_examples=129_809)
  out = _dry_run(config, tmp_path / 'w', capsys)
  assert 'MISSING' not in out
  if study != 'quickstart':
    assert 'iwildcam/448' in out and 'ready' in out
    assert '12 ep (~97356 steps)' in out  # 12 x (129809 // 16): known once the data exists


@pytest.mark.parametrize('study', STUDIES)
def test_dry_run_of_local_config_needs_no_manual_data(study, tmp_path, capsys):
  config = load_config(study, 'local')
  config.data_dir = str(tmp_path / 'empty')
  out = _dry_run(config, tmp_path / 'w', capsys)
  assert 'MISSING' not in out and 'will be generated' in out
  assert len(plan_study(config)) > 0


def test_dry_run_with_only_lists_just_that_slice(tmp_path, capsys):
  config = load_config('quickstart', 'test')
  config.data_dir = str(tmp_path / 'data')
  out = _dry_run(config, tmp_path / 'w', capsys, only='scratch-*')
  listed = [r.run_id for r in plan_study(config) if r.run_id in out.split()]
  assert listed and all(rid.startswith('scratch-') for rid in listed)


@pytest.mark.slow
def test_cli_dry_run_prints_the_plan_and_slices(tmp_path):
  env = dict(os.environ, XLA_FLAGS='--xla_force_host_platform_device_count=1')
  proc = subprocess.run(
      [sys.executable, '-m', 'jaxrobust.main', '--config=configs/quickstart.py:test',
       f'--workdir={tmp_path / "w"}', '--dry_run', f'--config.data_dir={tmp_path / "data"}'],
      cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=True)
  assert "Study 'quickstart'" in proc.stdout
  assert "--only='scratch-*'" in proc.stdout
  assert not os.path.exists(tmp_path / 'w')


def test_dry_run_of_granularity_shows_level_sizes_and_where_the_animals_fall(tmp_path, capsys):
  config = load_config('granularity')
  config.data_dir = str(tmp_path / 'empty')
  out = _dry_run(config, tmp_path / 'w', capsys)
  assert 'Label levels of imagenet2012:' in out
  assert re.search(r'tree_d2 +5 +1 / 5 / 958 +in 1 classes, the largest holding 398', out)
  assert re.search(r'Total: \d+ runs; models per group: imagenet_tree_d2 4', out)


def test_dry_run_of_sources_names_the_diffusion_dataset_and_the_command_that_generates_it(
    tmp_path, capsys):
  config = load_config('sources')
  config.data_dir = str(tmp_path / 'empty')
  out = _dry_run(config, tmp_path / 'w', capsys)
  assert re.search(r'diffusion_imagenet/sd15 +will be generated +python -m jaxrobust.datasets '
                   r'generate diffusion_imagenet/sd15 --data_dir=\S+ --pipeline_dir=', out)
  for setting in ('diffusion', 'diffusion_n5k', 'diffusion_n100k', 'imagenet_diffusion25',
                  'imagenet_diffusion75', 'imagenet_inat25', 'imagenet_fractaldb75',
                  'resnext50_32x4d_lr1e4'):
    assert re.search(rf'(pretrain|scratch)-{setting}-\w+ ', out), setting
