"""Linear probing trains the head only: backbone params and BatchNorm stats stay as restored."""
import pathlib

import numpy as np

from jaxrobust.study import stages
from jaxrobust.train import loop
from jaxrobust.train import step as step_lib

from tests.helpers import finetune as ff


def test_linear_probe_leaves_backbone_and_batch_stats_unchanged(data_dir, workdir,
                                                                 pretrain_dir):
  config = ff.finetune_config(data_dir, **{
      'init.model_init': str(pretrain_dir), 'init.mode': 'linear_probe',
      'optimizer.learning_rate': 1e-2})
  probe_dir = pathlib.Path(stages.execute_single(config, workdir).run_dir)
  before, after = ff.checkpoint_arrays(pretrain_dir), ff.checkpoint_arrays(probe_dir)
  backbone = [k for k in after['params'] if not k.startswith('head/')]
  assert backbone and after['batch_stats']
  for key in backbone:
    np.testing.assert_array_equal(after['params'][key], before['params'][key], err_msg=key)
  for key, stats in after['batch_stats'].items():
    np.testing.assert_array_equal(stats, before['batch_stats'][key], err_msg=key)
  fresh_head = ff.flat(step_lib.split_model(loop.init_model(config, ff.WILDCAM_CLASSES))[1])
  assert not np.array_equal(after['params']['head/kernel'], fresh_head['head/kernel'])
  assert (probe_dir / 'result.json').exists()


def test_full_finetuning_does_change_the_backbone_and_batch_stats(finetune_dir, pretrain_dir):
  # The contrast that makes the test above meaningful.
  before, after = ff.checkpoint_arrays(pretrain_dir), ff.checkpoint_arrays(finetune_dir)
  assert not np.array_equal(after['params']['stem/conv_bn/conv/kernel'],
                            before['params']['stem/conv_bn/conv/kernel'])
  assert not np.array_equal(after['batch_stats']['stem/conv_bn/bn/mean'],
                            before['batch_stats']['stem/conv_bn/bn/mean'])
