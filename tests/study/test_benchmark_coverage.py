"""The benchmark's classes each pre-training run covers: equal in the local quantity, granularity
and diversity studies, printed by the dry run, recorded in plan.json."""
import json
import os
import re

import pytest

from jaxrobust.study import plan_study, recipes, run_study

from tests.helpers.configs import load_config
from tests.helpers.study import FakeEngine, with_fake_datasets

# The synthetic_wildcam/small benchmark has 8 animal classes; every run of these studies
# includes all of them (quantity, granularity) or none (diversity).
EQUAL_COVERAGE = {'quantity': 8, 'granularity': 8, 'diversity': 0}


def _coverage(config) -> dict[str, tuple[int, int]]:
  return {r.setting: (r.target_classes_covered, r.target_classes)
          for r in plan_study(config) if r.kind == 'pretrain'}


@pytest.mark.parametrize('data_seed', (0, 1, 2))
@pytest.mark.parametrize('study', EQUAL_COVERAGE)
def test_every_pre_training_run_of_a_local_property_study_covers_the_same_classes(study,
                                                                                  data_seed):
  config = load_config(study, 'local')
  config.data_seed = data_seed
  coverage = _coverage(config)
  assert len(coverage) >= 3
  assert set(coverage.values()) == {(EQUAL_COVERAGE[study], 8)}, coverage


def test_the_local_diversity_ratios_would_cover_different_classes_without_the_rule():
  config = load_config('diversity', 'local')
  for setting in config.pretrain_settings.values():
    setting.subset.benchmark_classes = None
  assert len(set(_coverage(config).values())) == 3  # 1, 3 and 6 of 8 at data_seed 0


def _dry_run(config, workdir, capsys) -> str:
  run_study(config, str(workdir), dry_run=True)
  return capsys.readouterr().out


def test_dry_run_of_local_semantics_prints_the_animal_arms_coverage(tmp_path, capsys):
  config = load_config('semantics', 'local')
  config.data_dir = str(tmp_path / 'empty')
  out = _dry_run(config, tmp_path / 'w', capsys)
  animal = re.search(r'pretrain-animal-\w+ .* covered (\d)/8 ', out)
  assert animal and int(animal.group(1)) > 0
  assert re.search(r'pretrain-non_animal-\w+ .* covered 0/8 ', out)


@pytest.mark.parametrize('study', EQUAL_COVERAGE)
def test_dry_run_of_a_local_property_study_prints_equal_coverage(study, tmp_path, capsys):
  config = load_config(study, 'local')
  config.data_dir = str(tmp_path / 'empty')
  out = _dry_run(config, tmp_path / 'w', capsys)
  for run in plan_study(config):
    expected = f'covered {EQUAL_COVERAGE[study]}/8' if run.kind == 'pretrain' else ''
    line = next(line for line in out.splitlines() if line.startswith(run.run_id + ' '))
    assert ('covered' in line) == (run.kind == 'pretrain') and expected in line


def test_dry_run_of_a_paper_study_says_the_coverage_is_not_known(tmp_path, capsys):
  config = load_config('quantity')
  config.data_dir = str(tmp_path / 'empty')
  out = _dry_run(config, tmp_path / 'w', capsys)
  for run in plan_study(config):
    if run.kind == 'pretrain':
      assert re.search(rf'{run.run_id} .* covered \? ', out), run.run_id


def test_plan_json_records_the_coverage_of_each_pre_training_run(tmp_path):
  c = recipes.study_defaults('coverage', 'local,test', 'coverage of the benchmark')
  c.data_dir = str(tmp_path / 'data')
  source = recipes.TEST_HIERARCHY  # its 6 animal species are the benchmark's 6 classes
  c.pretrain_settings.kept = recipes.pretrain_setting(recipes.subset(
      source, num_classes=4, images_per_class=5, benchmark_classes='keep'))
  c.pretrain_settings.objects = recipes.pretrain_setting(recipes.subset(
      source, class_filter='object', num_classes=4, images_per_class=5))
  run_study(with_fake_datasets(c), str(tmp_path / 'w'), train_fn=FakeEngine())
  with open(os.path.join(tmp_path, 'w', 'plan.json')) as f:
    rows = json.load(f)['runs']
  coverage = {r['setting']: (r['target_classes_covered'], r['target_classes']) for r in rows}
  assert coverage['kept'] == (4, 6) and coverage['objects'] == (0, 6)
  assert all(coverage[r['setting']] == (None, None) for r in rows if r['kind'] != 'pretrain')
