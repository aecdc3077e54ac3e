"""Backbone handoff: pre-trained backbone restored bit for bit, fresh head, loud mismatches."""
import pathlib
import shutil

import numpy as np
import pytest

from jaxrobust.errors import ConfigError, UserError
from jaxrobust.train import checkpoint
from jaxrobust.train import handoff
from jaxrobust.train import loop
from jaxrobust.train import step as step_lib

from tests.helpers import finetune as ff
from tests.helpers.engine import truncate_every_array, truncate_metadata


def _fresh_model(data_dir, **overrides):
  config = ff.finetune_config(data_dir, **overrides)
  return config, loop.init_model(config, ff.WILDCAM_CLASSES)


def _restored(data_dir, pretrain_dir, **overrides):
  config, model = _fresh_model(data_dir, **{'init.model_init': str(pretrain_dir), **overrides})
  handoff.restore_backbone(model, config.init)
  _, params, batch_stats = step_lib.split_model(model)
  return ff.flat(params), ff.flat(batch_stats)


def _pretrained(pretrain_dir):
  saved = ff.checkpoint_arrays(pretrain_dir)
  return saved['params'], saved['batch_stats']


def test_backbone_equals_the_pretrained_one_bit_for_bit(data_dir, pretrain_dir):
  params, batch_stats = _restored(data_dir, pretrain_dir)
  saved_params, saved_stats = _pretrained(pretrain_dir)
  backbone = [k for k in params if not k.startswith('head/')]
  assert backbone and sorted(backbone) == sorted(k for k in saved_params
                                                 if not k.startswith('head/'))
  for key in backbone:
    np.testing.assert_array_equal(params[key], saved_params[key], err_msg=key)
  assert sorted(batch_stats) == sorted(saved_stats)
  for key in batch_stats:
    np.testing.assert_array_equal(batch_stats[key], saved_stats[key], err_msg=key)


def test_pretraining_moved_the_weights_the_handoff_restores(data_dir, pretrain_dir):
  # Guards the test above: the pre-trained backbone differs from a fresh one.
  _, fresh = _fresh_model(data_dir)
  _, fresh_params, fresh_stats = step_lib.split_model(fresh)
  saved_params, saved_stats = _pretrained(pretrain_dir)
  assert not np.array_equal(ff.flat(fresh_params)['stem/conv_bn/conv/kernel'],
                            saved_params['stem/conv_bn/conv/kernel'])
  assert not np.array_equal(ff.flat(fresh_stats)['stem/conv_bn/bn/mean'],
                            saved_stats['stem/conv_bn/bn/mean'])


def test_head_is_freshly_initialized_for_the_new_class_count(data_dir, pretrain_dir):
  params, _ = _restored(data_dir, pretrain_dir)
  _, fresh = _fresh_model(data_dir)
  _, fresh_params, _ = step_lib.split_model(fresh)
  saved_params, _ = _pretrained(pretrain_dir)
  assert saved_params['head/kernel'].shape[-1] == ff.PRETRAIN_CLASSES
  assert params['head/kernel'].shape[-1] == ff.WILDCAM_CLASSES
  for key in ('head/kernel', 'head/bias'):
    np.testing.assert_array_equal(params[key], ff.flat(fresh_params)[key])


@pytest.mark.parametrize('where', ['run_dir', 'checkpoints_dir', 'step_dir'])
def test_model_init_names_the_run_its_checkpoints_or_one_step(pretrain_dir, where):
  latest = pretrain_dir / 'checkpoints' / str(ff.PRETRAIN_STEPS)
  path = {'run_dir': pretrain_dir, 'checkpoints_dir': pretrain_dir / 'checkpoints',
          'step_dir': latest}[where]
  found = handoff.find_checkpoint(str(path))
  assert (found.step_dir, found.step, found.run_dir) == (latest, ff.PRETRAIN_STEPS,
                                                         pretrain_dir)


def test_an_earlier_step_can_be_chosen(pretrain_dir):
  found = handoff.find_checkpoint(str(pretrain_dir / 'checkpoints' / '3'))
  assert found.step == 3


def test_a_path_without_checkpoints_is_refused(tmp_path):
  with pytest.raises(ConfigError, match=r'config\.init\.model_init=.*no orbax checkpoint'):
    handoff.find_checkpoint(str(tmp_path))


def test_another_width_is_refused_naming_the_shape_conflicts(data_dir, pretrain_dir):
  with pytest.raises(ConfigError) as error:
    _restored(data_dir, pretrain_dir, **{'model.width': 2.0})
  message = str(error.value)
  assert 'shapes differ' in message
  assert 'params/blocks/0/conv1/bn/bias (8,) vs (16,)' in message
  assert 'model.name=resnet_tiny' in message and 'model.width=1.0' in message


def test_another_architecture_is_refused_naming_missing_and_unexpected_keys(
    data_dir, pretrain_dir):
  with pytest.raises(ConfigError) as error:
    _restored(data_dir, pretrain_dir, **{'model.name': 'resnet18', 'model.width': 0.125})
  message = str(error.value)
  assert 'missing from the checkpoint: params/blocks/2/' in message
  assert 'more)' in message  # long key lists are cut, with the count of the rest


def test_loading_the_head_for_another_class_count_is_refused(data_dir, pretrain_dir):
  with pytest.raises(ConfigError) as error:
    _restored(data_dir, pretrain_dir, **{'init.dont_load': ()})
  assert (f'params/head/kernel (16, {ff.PRETRAIN_CLASSES}) vs (16, {ff.WILDCAM_CLASSES})'
          in str(error.value))
  assert 'params/head/bias' in str(error.value)


def test_dont_load_patterns_keep_more_than_the_head_fresh(data_dir, pretrain_dir):
  params, _ = _restored(data_dir, pretrain_dir,
                        **{'init.dont_load': ('head/.*', 'blocks/1/.*')})
  _, fresh = _fresh_model(data_dir)
  fresh_params = ff.flat(step_lib.split_model(fresh)[1])
  saved_params, _ = _pretrained(pretrain_dir)
  np.testing.assert_array_equal(params['blocks/1/conv1/conv/kernel'],
                                fresh_params['blocks/1/conv1/conv/kernel'])
  np.testing.assert_array_equal(params['blocks/0/conv1/conv/kernel'],
                                saved_params['blocks/0/conv1/conv/kernel'])


def test_a_relative_model_init_path_is_restored(data_dir, pretrain_dir, monkeypatch):
  monkeypatch.chdir(pretrain_dir.parent)  # orbax itself refuses relative paths
  params, _ = _restored(data_dir, pretrain_dir.name)
  saved_params, _ = _pretrained(pretrain_dir)
  key = next(k for k in params if not k.startswith('head/'))
  np.testing.assert_array_equal(params[key], saved_params[key])


# The handoff reads the backbone only: damage to one file may miss it (land in the optimizer
# state or the head), and then what it restores is intact and checksummed. So the damage here
# reaches every array, or the metadata every read needs.
HANDOFF_DAMAGE = {'every array file truncated': truncate_every_array,
                  'truncated metadata': truncate_metadata}


@pytest.mark.parametrize('damage', HANDOFF_DAMAGE)
def test_a_damaged_pretraining_checkpoint_is_a_one_line_error_naming_run_and_step(
    damage, data_dir, pretrain_dir, tmp_path):
  copy = pathlib.Path(shutil.copytree(pretrain_dir, tmp_path / pretrain_dir.name))
  found = handoff.find_checkpoint(str(copy))
  HANDOFF_DAMAGE[damage](found.step_dir)
  config, model = _fresh_model(data_dir, **{'init.model_init': str(copy)})
  with pytest.raises(checkpoint.CheckpointReadError) as raised:
    handoff.restore_backbone(model, config.init)
  message = str(raised.value)
  assert isinstance(raised.value, UserError) and '\n' not in message
  assert message.startswith(f'Pre-training run {copy.name}: step {found.step} cannot be read')
  assert f'Delete {found.step_dir} ' in message
