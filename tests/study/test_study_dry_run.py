"""--dry_run of every study config: the plan table, and what data is missing, building nothing."""
import json
import re
import os
import subprocess
import sys

import pytest

from jaxrobust.errors import ConfigError
from jaxrobust.study import plan_study, run_study

from tests.helpers.configs import REPO, load_config
from tests.helpers.study import STUDIES

# The real datasets the paper-scale configs read, as prepared TFDS folders (name -> version dir).
REAL = {'imagenet2012': 'imagenet2012/5.1.0', 'inaturalist/2017': 'inaturalist/2017/1.1.0',
        'iwildcam/448': 'iwildcam/448/2.0.0'}


def _prepared(data_dir, version_dir: str, train_examples: int) -> None:
  """A built TFDS dataset as the dry run sees it: its dataset_info.json (iWildCam: WILDS' splits)."""
  path = os.path.join(data_dir, version_dir)
  os.makedirs(path, exist_ok=True)
  evaluated = ('id_val', 'id_test', 'val', 'test') if version_dir.startswith('iwildcam') else ()
  with open(os.path.join(path, 'dataset_info.json'), 'w') as f:
    json.dump({'name': version_dir.split('/')[0],
               'splits': [{'name': 'train', 'shardLengths': [str(train_examples)]}]
                         + [{'name': s, 'shardLengths': ['100']} for s in evaluated]}, f)


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
  for setting in ('diffusion', 'diffusion_n5k', 'diffusion_n100k', 'imagenet_n5k',
                  'imagenet_n25k', 'imagenet_n50k', 'imagenet_n100k', 'imagenet_diffusion25',
                  'imagenet_diffusion75', 'imagenet_inat25', 'imagenet_fractaldb75',
                  'resnext50_32x4d_lr1e4'):
    assert re.search(rf'(pretrain|scratch)-{setting}-\w+ ', out), setting


def test_dry_run_of_granularity_dag_shows_the_paper_counts_17_and_37(tmp_path, capsys):
  config = load_config('granularity', 'dag')
  config.data_dir = str(tmp_path / 'empty')
  out = _dry_run(config, tmp_path / 'w', capsys)
  for level, count in (('longest_d2', 6), ('longest_d4', 17), ('longest_d5', 37),
                       ('longest_d6', 81), ('longest_d7', 201)):
    assert re.search(rf'\n\s*{level} +{count} ', out), level
    assert f'pretrain-imagenet_{level}-' in out
  assert 'tree_d' not in out  # the nested tree stays the default, without `dag`
  assert 'tree_d4' in _dry_run(load_config('granularity'), tmp_path / 'w2', capsys)


@pytest.mark.parametrize('study', ('granularity', 'semantics', 'diversity', 'sources'))
def test_paper_inaturalist_settings_read_2017_unless_a_release_is_picked(study, tmp_path,
                                                                         capsys):
  config = load_config(study)
  config.data_dir = str(tmp_path / 'empty')
  inat = [r for r in plan_study(config) if r.subset and any(
      s['name'].startswith('inaturalist/') for s in r.subset['sources'])]
  assert inat and all(s['name'] == 'inaturalist/2017' for r in inat
                      for s in r.subset['sources'] if s['name'].startswith('inaturalist/'))
  config.releases.inaturalist = '2021_mini'
  names = {s['name'] for r in plan_study(config) if r.subset for s in r.subset['sources']}
  assert 'inaturalist/2021_mini' in names and 'inaturalist/2017' not in names
  assert 'MISSING manual data for inaturalist/2021_mini' in _dry_run(config, tmp_path / 'w',
                                                                      capsys)


def test_an_unknown_release_is_refused_with_the_known_ones():
  config = load_config('sources')
  config.releases.inaturalist = '2019'
  with pytest.raises(ConfigError, match=r"releases.inaturalist='2019': use one of 2017, 2018, "
                                        r'2021, 2021_mini\.'):
    plan_study(config)


def test_dry_run_prints_epochs_beside_steps_for_every_pre_training_run(tmp_path, capsys):
  config = load_config('quantity')
  config.data_dir = str(tmp_path / 'empty')
  out = _dry_run(config, tmp_path / 'w', capsys)
  assert re.search(r'pretrain-n5k-\w+ .* 100000 steps \(5,120\.0 ep\)', out)
  assert re.search(r'pretrain-full-\w+ .* 100000 steps \(20\.0 ep\)', out)  # 1,281,167 images
  for run in plan_study(config):
    if run.kind == 'pretrain':
      assert re.search(rf'{run.run_id} .* 100000 steps \([\d,.]+ ep\)', out), run.run_id


def test_dry_run_of_diversity_trains_both_sources_at_ratios_1_to_3_for_90_epochs(tmp_path,
                                                                                capsys):
  config = load_config('diversity')
  config.data_dir = str(tmp_path / 'empty')
  out = _dry_run(config, tmp_path / 'w', capsys)
  for r in (1, 2, 3):
    # 90 x (44 x 700 // 256) and 90 x (100 x 50 // 256) steps.
    assert re.search(rf'pretrain-imagenet_r{r}-\w+ .*_k44_div-longest_d7-r{r}-i700-of3_.* '
                     r'90 ep \(~10800 steps\)', out)
    assert re.search(rf'pretrain-inat_r{r}-\w+ .*inaturalist-2017_k100_div-genus-r{r}-i50-of3_.* '
                     r'90 ep \(~1710 steps\)', out)
  assert 'r4' not in out and 'r8' not in out
