"""configs/finetune.py (the WILDS ERM recipe), scratch baselines, and refused run configs."""
import json
import pathlib

import pytest

from jaxrobust.errors import ConfigError
from jaxrobust.study import stages
from jaxrobust.study import results

from jaxrobust.train import writers
from tests.helpers import finetune as ff
from tests.helpers.engine import damaged_dataset_copy
from tests.helpers.configs import load_config


def test_default_config_is_the_wilds_erm_recipe_for_iwildcam():
  c = load_config('finetune', None)
  assert (c.kind, c.data.name, c.data.image_size) == ('finetune', 'iwildcam/448', 448)
  assert (c.optimizer.name, c.optimizer.learning_rate, c.optimizer.weight_decay,
          c.optimizer.schedule) == ('adam', 3e-5, 0.0, 'constant')
  assert (c.batch_size, c.num_epochs) == (16, 12.0)
  assert (c.data.train_preprocess, c.data.eval_preprocess, c.data.augment_flip) == (
      'resize', 'resize', False)
  assert c.data.normalization == 'imagenet'
  assert tuple(c.data.eval_splits) == ('id_val', 'id_test', 'val', 'test')
  assert tuple(c.init.dont_load) == ('head/.*',)


def test_local_arg_keeps_the_recipe_on_synthetic_wildcam():
  c = load_config('finetune', 'local,lr=1e-3,epochs=3,seed=2')
  assert (c.data.name, c.data.image_size) == ('synthetic_wildcam/small', 32)
  assert (c.optimizer.learning_rate, c.num_epochs, c.seed) == (1e-3, 3.0, 2)
  assert (c.optimizer.name, c.batch_size, c.data.augment_flip) == ('adam', 16, False)


def test_unknown_config_arg_is_refused():
  with pytest.raises(ValueError, match="Unknown config arg 'loacl'.*local, scratch, lr="):
    load_config('finetune', 'loacl')


@pytest.mark.slow
def test_scratch_run_writes_a_result_without_pretrain_block(data_dir, tmp_path):
  config = ff.finetune_config(data_dir, arg='local,scratch', num_train_steps=None,
                              num_epochs=0.2)
  run_dir = pathlib.Path(stages.execute_single(config, tmp_path).run_dir)
  result = json.loads((run_dir / 'result.json').read_text())
  assert (result['kind'], result['pretrain'], result['study']) == ('scratch', None, None)
  assert (result['finetune']['epochs'], result['finetune']['steps']) == (0.2, 3)
  assert 0 <= result['metrics']['ood']['macro_f1'] <= 1
  assert result['skipped_train_examples'] == 0


@pytest.mark.slow
def test_result_json_counts_the_training_records_a_damaged_shard_lost(data_dir, tmp_path):
  damaged_dataset_copy(data_dir, tmp_path / 'data', 'train', fraction=0.3, dataset=ff.WILDCAM)
  config = ff.finetune_config(tmp_path / 'data', arg='local,scratch')
  run_dir = pathlib.Path(stages.execute_single(config, tmp_path / 'work').run_dir)
  result = json.loads((run_dir / 'result.json').read_text())
  history = writers.read_metrics(run_dir / writers.METRICS_FILE)
  skipped = sum(r.get('train/skipped_images', 0) for r in history)
  assert result['skipped_train_examples'] == skipped > 0


@pytest.mark.parametrize('overrides, message', [
    ({'kind': 'finetune'}, 'needs config.init.model_init'),
    ({'kind': 'scratch', 'init.model_init': '/some/run'}, 'random initialization'),
    ({'kind': 'scratch', 'data.eval_splits': ('id_val', 'val')}, r"lacks id_split='id_test', ood_split='test'"),
])
def test_runs_that_could_not_write_their_result_are_refused_before_training(
    data_dir, overrides, message):
  config = ff.finetune_config(data_dir, **overrides)
  with pytest.raises(ConfigError, match=message):
    results.check_config(config)
  with pytest.raises(ConfigError, match=message):
    stages.execute_single(config, data_dir / 'never_written')
