"""Linear probing trains the head only: backbone params and BatchNorm statistics stay as restored."""
import pathlib

import jax
import numpy as np
import orbax.checkpoint as ocp

from jaxrobust import train
from jaxrobust.train import checkpoint
from jaxrobust.train import handoff
from jaxrobust.train import optim

import finetune_fixtures as ff  # pylint: disable=g-bad-import-order


def _state(run_dir) -> dict[str, dict[str, np.ndarray]]:
  """{'params': {path: array}, 'batch_stats': {...}} of the run's latest checkpoint."""
  found = handoff.find_checkpoint(str(run_dir))
  with ocp.PyTreeCheckpointer() as checkpointer:
    state = checkpointer.restore(found.step_dir / checkpoint.STATE)
  return {c: {optim.param_path(p): np.asarray(x)
              for p, x in jax.tree_util.tree_leaves_with_path(state[c])}
          for c in ('params', 'batch_stats')}


def test_linear_probe_leaves_backbone_and_batch_stats_unchanged(data_dir, workdir,
                                                                 pretrain_dir):
  config = ff.finetune_config(data_dir, **{
      'init.model_init': str(pretrain_dir), 'init.mode': 'linear_probe',
      'optimizer.learning_rate': 1e-2, 'num_epochs': 1.0})
  probe_dir = pathlib.Path(train.run_single(config, workdir)['run_dir'])
  before, after = _state(pretrain_dir), _state(probe_dir)
  backbone = [k for k in after['params'] if not k.startswith('head/')]
  assert backbone and after['batch_stats']
  for key in backbone:
    np.testing.assert_array_equal(after['params'][key], before['params'][key], err_msg=key)
  for key, stats in after['batch_stats'].items():
    np.testing.assert_array_equal(stats, before['batch_stats'][key], err_msg=key)
  assert (probe_dir / 'result.json').exists()


def test_full_finetuning_does_change_the_backbone_and_batch_stats(finetune_dir, pretrain_dir):
  # The contrast that makes the test above meaningful.
  before, after = _state(pretrain_dir), _state(finetune_dir)
  assert not np.array_equal(after['params']['stem/conv_bn/conv/kernel'],
                            before['params']['stem/conv_bn/conv/kernel'])
  assert not np.array_equal(after['batch_stats']['stem/conv_bn/bn/mean'],
                            before['batch_stats']['stem/conv_bn/bn/mean'])
