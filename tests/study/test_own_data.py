"""docs/own_data.md as a test: the user's builder module (the page's code, written outside the
package), registered through config.imports, declared as a benchmark with its own split names,
and a pre-training source drawn from it; the quickstart on it, locally and under Ray."""
import collections
import glob
import json
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from jaxrobust import errors
from jaxrobust import user_modules
from jaxrobust.datasets import build
from jaxrobust.datasets import hierarchy
from jaxrobust.datasets import subsets
from jaxrobust.study import benchmark
from jaxrobust.study import plan_study
from jaxrobust.study import recipes
from jaxrobust.study import run_study

from tests.helpers.configs import REPO
from tests.helpers.study import FakeEngine

DOC = REPO / 'docs' / 'own_data.md'
SPLITS = {'fit': 6, 'home_check': 3, 'home_exam': 3, 'away_check': 3, 'away_exam': 3}
CLASSES = ('heron', 'kestrel', 'owl')
BENCHMARK_FLAGS = ('--config.imports=mylab.datasets', '--config.benchmark.name=mylab_birds',
                   '--config.benchmark.train_split=fit',
                   '--config.benchmark.id_val_split=home_check',
                   '--config.benchmark.id_split=home_exam',
                   '--config.benchmark.ood_val_split=away_check',
                   '--config.benchmark.ood_split=away_exam')


def doc_blocks(language: str) -> list[str]:
  """The ```<language> code blocks of docs/own_data.md, in order."""
  return re.findall(rf'```{language}\n(.*?)```', DOC.read_text(), flags=re.S)


def write_user_folder(root: pathlib.Path) -> pathlib.Path:
  """mylab/ as the page describes it: the builder, a study config and photos of 3 classes.

  Each class has its own colour; at away sites the colours are dimmed (the shift).
  """
  package = root / 'mylab'
  package.mkdir(parents=True)
  (package / '__init__.py').write_text('')
  module, study = doc_blocks('python')
  (package / 'datasets.py').write_text(module)
  (package / 'study.py').write_text(study)
  rng = np.random.default_rng(0)
  for split, per_class in SPLITS.items():
    for c, name in enumerate(CLASSES):
      folder = package / 'photos' / split / name
      folder.mkdir(parents=True)
      for i in range(per_class):
        colour = np.eye(3)[c] * (120 if split.startswith('away') else 220)
        pixels = np.clip(colour + rng.normal(0, 25, (20, 20, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f'{i}.png')
  return package


@pytest.fixture(scope='module')
def user_folder(tmp_path_factory):
  """The user's folder on sys.path (as PYTHONPATH puts it), its module imported once (TFDS
  registers a builder name once per process)."""
  package = write_user_folder(tmp_path_factory.mktemp('user'))
  sys.path.insert(0, str(package.parent))
  user_modules.load('mylab.datasets')
  yield package
  sys.path.remove(str(package.parent))


@pytest.fixture(scope='module')
def data_dir(user_folder, tmp_path_factory) -> str:
  """A data dir holding the built `mylab_birds`."""
  del user_folder
  path = str(tmp_path_factory.mktemp('data'))
  built, = build.build_datasets([{'name': 'mylab_birds', 'subset': None}], path)
  assert (built.action, built.num_examples) == ('generated', 3 * sum(SPLITS.values()))
  return path


def test_the_builder_registers_through_imports_and_builds_array_record(data_dir):
  info = json.loads(pathlib.Path(data_dir, 'mylab_birds', '1.0.0',
                                 'dataset_info.json').read_text())
  assert info['fileFormat'] == 'array_record'
  assert sorted(s['name'] for s in info['splits']) == sorted(SPLITS)


def test_a_ray_job_ships_the_users_package_with_jaxrobust(user_folder):
  from jaxrobust.study import ray_executor  # pylint: disable=g-import-not-at-top  (ray)
  shipped = ray_executor.runtime_env('mylab.datasets')['py_modules']
  assert shipped == [str(REPO / 'jaxrobust'), str(user_folder)]


def test_a_module_that_does_not_import_is_one_error_naming_it():
  with pytest.raises(errors.ConfigError, match=r"cannot import module 'mylab_nowhere\.data'"):
    user_modules.load('mylab_nowhere.data')


def _installed(site: pathlib.Path, module: str) -> None:
  """A distribution in `site` (as pip installs one) whose entry point names `module`."""
  info = site / f'{module}-1.0.dist-info'
  info.mkdir(parents=True)
  (info / 'METADATA').write_text(f'Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n')
  (info / 'entry_points.txt').write_text(
      f'[{user_modules.ENTRY_POINT_GROUP}]\nbirds = {module}\n')


def test_an_installed_packages_entry_point_is_imported_without_any_config(tmp_path,
                                                                          monkeypatch):
  _installed(tmp_path, 'mylab_installed')
  (tmp_path / 'mylab_installed.py').write_text('')
  monkeypatch.syspath_prepend(str(tmp_path))
  monkeypatch.delitem(sys.modules, 'mylab_installed', raising=False)
  user_modules.load('')
  assert 'mylab_installed' in sys.modules
  sys.modules.pop('mylab_installed')


def test_an_entry_point_that_does_not_import_is_one_error_naming_it(tmp_path, monkeypatch):
  _installed(tmp_path, 'mylab_broken')
  monkeypatch.syspath_prepend(str(tmp_path))
  with pytest.raises(errors.ConfigError, match=r"the jaxrobust.datasets entry point 'birds': "
                     r"cannot import module 'mylab_broken'"):
    user_modules.load('')


def test_a_declared_split_the_dataset_lacks_is_refused_listing_its_splits(data_dir):
  from mylab import study  # pylint: disable=g-import-not-at-top  (the page's study config)
  config = study.get_config('local,test')
  for name in ('n5000', 'n25000'):  # ImageNet's quantities: more than the test scale's source
    del config.pretrain_settings[name]
  config.data_dir = data_dir
  config.benchmark.ood_split = 'away_test'
  with pytest.raises(errors.ConfigError, match=re.escape(
      "dataset mylab_birds has no split ood_split='away_test' (config.benchmark); its splits "
      'are away_check, away_exam, fit, home_check, home_exam.')):
    plan_study(config)


def test_a_missing_split_stops_a_study_after_building_its_data_before_any_run(user_folder,
                                                                               tmp_path):
  del user_folder
  config = recipes.study_defaults('birds', 'local,test', 'scratch runs on the birds')
  config.imports = 'mylab.datasets'
  config.benchmark = benchmark.block('mylab_birds', train_split='fit', ood_split='away_exam',
                                     id_val_split='home_check', id_split='home_exam',
                                     ood_val_split='away_val')
  config.pretrain_settings.birds = recipes.pretrain_setting(
      recipes.subset({'name': 'mylab_birds', 'split': 'fit'}, images_per_class=2))
  config.data_dir = str(tmp_path / 'data')  # nothing built: the plan cannot check yet
  engine = FakeEngine()
  with pytest.raises(errors.ConfigError, match=r"has no split ood_val_split='away_val'"):
    run_study(config, str(tmp_path / 'w'), train_fn=engine)
  assert os.path.isdir(tmp_path / 'data' / 'mylab_birds')
  assert not engine.calls  # not even the pre-training, which runs first


def test_the_pages_study_config_plans_the_benchmark_and_a_source_from_it(user_folder):
  del user_folder
  from mylab import study  # pylint: disable=g-import-not-at-top
  plan = plan_study(study.get_config())  # paper scale: ImageNet subsets + the user's source
  finetunes = [r for r in plan if r.kind == 'finetune']
  assert finetunes and all(r.dataset == 'mylab_birds' for r in finetunes)
  data = finetunes[0].config.data
  assert (data.train_split, data.eval_splits, data.selection_splits) == (
      'fit', ('home_check', 'home_exam', 'away_check', 'away_exam'), ('home_check', 'away_check'))
  birds, = [r for r in plan if r.setting == 'birds']
  assert birds.subset['sources'] == [{'name': 'mylab_birds', 'split': 'fit', 'weight': 1.0}]


def test_a_subset_of_the_users_dataset_trains_on_the_levels_of_its_hierarchy_file(data_dir):
  tree, = doc_blocks('json')
  pathlib.Path(data_dir, 'mylab_birds', '1.0.0', hierarchy.HIERARCHY_FILE).write_text(tree)
  spec = {'sources': [{'name': 'mylab_birds', 'split': 'fit'}], 'images_per_class': 2,
          'label_level': 'order'}
  name = subsets.materialize(spec, data_dir)
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  ds = tfds.data_source(name, data_dir=data_dir, split='train')
  assert len(ds) == 6
  orders = collections.Counter(int(record['label_order']) for record in ds)
  assert sorted(orders.values()) == [2, 4]  # 2 herons; 2 kestrels + 2 owls are raptors


def _quickstart(workdir, data_dir, *extra) -> subprocess.CompletedProcess:
  env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(workdir.parent / 'user'), str(REPO)]),
             XLA_FLAGS='--xla_force_host_platform_device_count=1')
  return subprocess.run(
      [sys.executable, '-m', 'jaxrobust.main', '--config=configs/quickstart.py:test',
       f'--workdir={workdir}', f'--config.data_dir={data_dir}', *BENCHMARK_FLAGS, *extra],
      cwd=REPO, env=env, capture_output=True, text=True, timeout=900)


def _check_report(workdir) -> None:
  results = sorted(glob.glob(f'{workdir}/runs/*/result.json'))
  planned = json.loads(pathlib.Path(workdir, 'plan.json').read_text())['runs']
  assert len(results) == sum(r['kind'] != 'pretrain' for r in planned) > 0  # fine-tune, scratch
  for path in results:
    result = json.loads(pathlib.Path(path).read_text())
    assert result['finetune']['dataset'] == 'mylab_birds'
    assert (result['metrics']['id']['split'], result['metrics']['ood']['split']) == (
        'home_exam', 'away_exam')
    assert result['selection'] == {**result['selection'], 'rule': 'ood_val',
                                   'split': 'away_check'}
    assert result['selections']['id_val']['split'] == 'home_check'
    assert set(result['metrics']['splits']) == {'home_check', 'home_exam', 'away_check',
                                                'away_exam'}
  assert os.path.exists(workdir / 'report' / 'report.md')


@pytest.mark.slow
def test_quickstart_runs_on_the_users_benchmark_through_the_cli(tmp_path):
  write_user_folder(tmp_path / 'user')
  # The scratch runs read their data with a grain worker process, as at scale.
  proc = _quickstart(tmp_path / 'w', tmp_path / 'data', '--config.scratch.data.num_workers=1')
  assert proc.returncode == 0, proc.stderr[-3000:]
  _check_report(tmp_path / 'w')


@pytest.mark.slow
def test_quickstart_runs_on_the_users_benchmark_under_ray(tmp_path):
  write_user_folder(tmp_path / 'user')
  proc = _quickstart(tmp_path / 'w', tmp_path / 'data', '--executor=ray')
  assert proc.returncode == 0, proc.stderr[-3000:]
  _check_report(tmp_path / 'w')


def test_a_module_that_does_not_import_is_one_cli_error_line(tmp_path):
  proc = subprocess.run(
      [sys.executable, '-m', 'jaxrobust.main', '--config=configs/quickstart.py:test',
       f'--workdir={tmp_path}', '--dry_run', '--config.imports=mylab_nowhere.data'],
      cwd=REPO, capture_output=True, text=True, timeout=300)
  assert proc.returncode != 0
  assert proc.stderr.strip().splitlines()[-1].startswith(
      "error: config.imports: cannot import module 'mylab_nowhere.data'")
