"""Study config -> plan: order, ids, hashes, handoff paths, training length, datasets."""
import re

import pytest

from jaxrobust import errors
from jaxrobust.study import datasets_needed, plan_study, select_runs
from jaxrobust.study import plan as plan_lib

from jaxrobust.study import recipes
from tests.helpers.configs import load_config
from tests.helpers.study import STUDIES, small_study


@pytest.fixture
def study(tmp_path):
  return small_study(str(tmp_path / 'data'))


def test_plan_orders_pretrain_then_each_finetune_then_scratch(study, tmp_path):
  plan = plan_study(study, str(tmp_path / 'w'))
  kinds = [r.kind for r in plan]
  assert kinds == ['pretrain'] * 2 + ['finetune'] * 4 + ['scratch'] * 3
  assert [r.setting for r in plan if r.kind == 'finetune'] == [
      'n40/lr1e3', 'n40/lr3e4', 'n80/lr1e3', 'n80/lr3e4']


def test_run_ids_are_readable_and_end_in_a_config_hash(study, tmp_path):
  ids = [r.run_id for r in plan_study(study, str(tmp_path))]
  assert re.fullmatch(r'pretrain-n40-[0-9a-f]{8}', ids[0])
  assert re.fullmatch(r'finetune-n40-lr1e3-[0-9a-f]{8}', ids[2])
  assert re.fullmatch(r'scratch-lr1e3-[0-9a-f]{8}', ids[-3])
  assert len(set(ids)) == len(ids)


def test_finetune_starts_from_its_pretrain_run_dir_with_the_same_architecture(study, tmp_path):
  workdir = str(tmp_path / 'w')
  study.pretrain_settings.n80.model = {'width': 2.0}
  plan = plan_study(study, workdir)
  by_id = {r.run_id: r for r in plan}
  for run in plan:
    if run.kind == 'finetune':
      pre = by_id[run.pretrain_id]
      assert run.config.init.model_init == pre.run_dir(workdir)
      assert run.config.model.width == pre.config.model.width
      assert run.config.model.name == pre.config.model.name


def test_run_ids_do_not_depend_on_workdir_or_data_dir(study, tmp_path):
  a = [r.run_id for r in plan_study(study, '/somewhere/a')]
  study.data_dir = str(tmp_path / 'other_data')
  b = [r.run_id for r in plan_study(study, '/elsewhere/b')]
  assert a == b


def test_changed_pretrain_setting_renames_it_and_its_finetunes_only(study, tmp_path):
  before = {r.setting: r.run_id for r in plan_study(study, str(tmp_path))}
  study.pretrain_settings.n80.optimizer = {'learning_rate': 0.01}
  after = {r.setting: r.run_id for r in plan_study(study, str(tmp_path))}
  changed = {s for s in before if before[s] != after[s]}
  assert changed == {'n80', 'n80/lr1e3', 'n80/lr3e4'}


def test_changed_finetune_setting_keeps_pretrain_ids(study, tmp_path):
  before = {r.setting: r.run_id for r in plan_study(study, str(tmp_path))}
  study.finetune_settings.lr3e4.optimizer.learning_rate = 1e-4
  after = {r.setting: r.run_id for r in plan_study(study, str(tmp_path))}
  assert {s for s in before if before[s] != after[s]} == {'n40/lr3e4', 'n80/lr3e4'}


def test_pretraining_has_equal_steps_across_quantities_by_default(study, tmp_path):
  pre = [r for r in plan_study(study, str(tmp_path)) if r.kind == 'pretrain']
  assert {r.config.num_train_steps for r in pre} == {study.pretrain.num_train_steps}
  assert {r.steps for r in pre} == {study.pretrain.num_train_steps}


def test_pretraining_by_epochs_scales_steps_with_subset_size(study, tmp_path):
  study.pretrain_length = 'epochs'
  study.pretrain_epochs = 2.0
  pre = [r for r in plan_study(study, str(tmp_path)) if r.kind == 'pretrain']
  batch = study.pretrain.batch_size
  assert [r.steps for r in pre] == [2 * (40 // batch), 2 * (80 // batch)]
  assert all(r.config.num_train_steps is None and r.config.num_epochs == 2.0 for r in pre)


def test_unknown_run_field_in_a_setting_is_refused_naming_it(study, tmp_path):
  study.finetune_settings.lr3e4.optimiser = {'learning_rate': 1.0}
  with pytest.raises(errors.ConfigError, match=r'config\.finetune_settings\.lr3e4\.optimiser'):
    plan_study(study, str(tmp_path))


def test_pretrain_setting_without_subset_is_refused(study, tmp_path):
  study.pretrain_settings.bad = {'seed': 1}
  with pytest.raises(errors.ConfigError, match='pretrain_settings.bad has no subset'):
    plan_study(study, str(tmp_path))


def test_datasets_needed_lists_bases_before_subsets_without_repeats(study):
  needs = datasets_needed(plan_study(study))
  names = [n['name'] for n in needs]
  assert names[0] == 'fractaldb/tiny' and needs[0]['subset'] is None
  assert [n['subset']['num_examples'] for n in needs if n['subset']] == [40, 80]
  assert names[-1] == study.finetune.data.name
  assert len(names) == len(set(names))


def test_label_levels_of_one_image_set_share_one_subset(study):
  common = recipes
  study.pretrain_settings.n40_coarse = common.pretrain_setting(
      common.subset('fractaldb/tiny', num_examples=40, label_level='label'))
  subsets = [n for n in datasets_needed(plan_study(study)) if n['subset']]
  assert len(subsets) == 2


def test_datasets_needed_for_a_slice_only_lists_that_slice(study, tmp_path):
  plan = plan_study(study, str(tmp_path))
  scratch = [r.run_id for r in plan if r.kind == 'scratch']
  assert [n['name'] for n in datasets_needed(plan, scratch)] == [study.scratch.data.name]


def test_only_takes_comma_separated_globs(study, tmp_path):
  plan = plan_study(study, str(tmp_path))
  chosen = select_runs(plan, 'pretrain-n40-*,scratch-*')
  assert [r.kind for r in chosen] == ['pretrain'] + ['scratch'] * 3


def test_only_matching_nothing_is_a_clear_error(study, tmp_path):
  with pytest.raises(errors.UserError, match='matches no run id.*--dry_run'):
    select_runs(plan_study(study, str(tmp_path)), 'nothing-*')


@pytest.mark.parametrize('pretrain_seeds', [1, 2])
def test_slice_globs_are_disjoint_and_cover_the_plan(study, tmp_path, pretrain_seeds):
  study.pretrain_seeds = pretrain_seeds
  plan = plan_study(study, str(tmp_path))
  seen = []
  for glob in plan_lib.slice_globs(plan):
    seen += [r.run_id for r in select_runs(plan, glob)]
  assert sorted(seen) == sorted(r.run_id for r in plan)


def test_plan_follows_the_order_settings_are_written_in(study, tmp_path):
  common = recipes
  study.pretrain_settings.a_last = common.pretrain_setting(
      common.subset('fractaldb/tiny', num_examples=24))
  pre = [r.setting for r in plan_study(study, str(tmp_path)) if r.kind == 'pretrain']
  assert pre == ['n40', 'n80', 'a_last']


def test_impossible_subset_spec_is_refused_naming_its_setting(study, tmp_path):
  study.pretrain_settings.n80.subset.sources[0]['weight'] = 0.5
  with pytest.raises(errors.ConfigError,
                     match=r'config\.pretrain_settings\.n80\.subset: sources: weights sum to 0\.5'):
    plan_study(study, str(tmp_path))


def test_epochs_arg_trains_each_setting_for_the_same_epochs(tmp_path):
  by_steps = load_config('quantity', 'local')
  by_epochs = load_config('quantity', 'local,epochs')
  steps = {r.setting: r.steps for r in plan_study(by_steps) if r.kind == 'pretrain'}
  epochs = {r.setting: r.steps for r in plan_study(by_epochs) if r.kind == 'pretrain'}
  assert len(set(steps.values())) == 1
  batch = by_epochs.pretrain.batch_size
  assert epochs['n500'] == round(by_epochs.pretrain_epochs * (500 // batch))
  assert epochs['n3k'] == round(by_epochs.pretrain_epochs * (3000 // batch))


def test_unknown_config_arg_is_refused_with_the_valid_ones():
  with pytest.raises(ValueError, match="Unknown config arg 'lcoal'.*local, test, epochs"):
    load_config('quantity', 'lcoal')


@pytest.mark.parametrize('arg', [None, 'local'])
def test_every_architecture_a_study_names_is_in_the_model_zoo(arg):
  from jaxrobust import models  # pylint: disable=g-import-not-at-top
  for study in STUDIES:
    for run in plan_study(load_config(study, arg)):
      assert run.config.model.name in models.model_names(), (study, run.run_id)


@pytest.mark.parametrize('study_name', [s for s in STUDIES if s != 'quickstart'])  # local only
def test_every_paper_scale_group_has_at_least_three_models(study_name):
  sizes = plan_lib.group_sizes(plan_study(load_config(study_name)))
  assert sizes and min(sizes.values()) >= 3, sizes


def test_pretrain_seeds_pretrain_each_setting_again_with_other_images_and_seed(study, tmp_path):
  once = plan_study(study, str(tmp_path / 'w'))
  study.pretrain_seeds = 3
  plan = plan_study(study, str(tmp_path / 'w'))
  pretrain = [r for r in plan if r.kind == 'pretrain']
  assert [r.setting for r in pretrain] == ['n40', 'n40/rep1', 'n40/rep2', 'n80', 'n80/rep1',
                                           'n80/rep2']
  assert [r.subset['seed'] for r in pretrain] == [0, 1, 2] * 2
  assert [r.config.seed for r in pretrain] == [0, 1, 2] * 2
  assert len({r.dataset for r in pretrain}) == 6  # another image draw each time
  assert {r.pretrain_setting for r in pretrain} == {'n40', 'n80'}
  # Replicate 0 is the setting as written: its runs keep their ids.
  kept = {r.run_id for r in once if r.kind != 'scratch'}
  assert kept <= {r.run_id for r in plan}
  finetunes = [r for r in plan if r.kind == 'finetune']
  assert len(finetunes) == 12
  assert re.fullmatch(r'finetune-n40-rep2-lr1e3-[0-9a-f]{8}', finetunes[4].run_id)
  assert plan_lib.group_sizes(plan) == {'n40': 6, 'n80': 6, 'scratch baselines': 3}
  assert {r.pretrain_id for r in finetunes} == {r.run_id for r in pretrain}


def test_a_setting_with_its_own_pretrain_seeds_is_pre_trained_that_many_times(study, tmp_path):
  once = plan_study(study, str(tmp_path / 'w'))
  study.pretrain_seeds = 2
  study.pretrain_settings.n80.pretrain_seeds = 3
  plan = plan_study(study, str(tmp_path / 'w'))
  assert [r.setting for r in plan if r.kind == 'pretrain'] == [
      'n40', 'n40/rep1', 'n80', 'n80/rep1', 'n80/rep2']
  assert plan_lib.group_sizes(plan) == {'n40': 4, 'n80': 6, 'scratch baselines': 3}
  # The field chooses replicates only: replicate 0 of each setting keeps its run id.
  assert {r.run_id for r in once if r.kind == 'pretrain'} <= {r.run_id for r in plan}


def test_pretrain_seeds_must_be_a_whole_number_of_at_least_one(study, tmp_path):
  for bad in (0, -2):
    study.pretrain_seeds = bad
    with pytest.raises(errors.ConfigError, match='pretrain_seeds'):
      plan_study(study, str(tmp_path))
  study.pretrain_seeds = 1
  study.pretrain_settings.n40.pretrain_seeds = 1.5
  with pytest.raises(errors.ConfigError, match=r'config.pretrain_settings.n40.pretrain_seeds=1.5'):
    plan_study(study, str(tmp_path))
