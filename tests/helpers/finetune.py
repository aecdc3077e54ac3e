"""Fine-tune test fixtures: a tiny pre-training dataset, the run configs, checkpoint readers.

Pre-training reads `ft_pretrain_images` (5 classes, 16 px PNG, TFDS array_record, built
here); fine-tuning reads the project's generated `synthetic_wildcam/tiny` (the
iWildCam-WILDS schema and splits, 7 classes, 32 px JPEG, resized to 16 px here), whose
eval splits (40 / 60 / 60 / 60) are no multiple of the eval batch of 16.
"""
import jax
import ml_collections
import numpy as np

from jaxrobust.datasets import build
from jaxrobust.input import loading
from jaxrobust.train import checkpoint
from jaxrobust.train import handoff
from jaxrobust.train import optim
from tests.helpers import toy_data
from tests.helpers.configs import load_config

IMAGE_SIZE = toy_data.FtPretrainImages.IMAGE_SIZE
PRETRAIN_CLASSES = toy_data.FtPretrainImages.NUM_CLASSES
PRETRAIN_EXAMPLES = toy_data.FtPretrainImages.SPLITS['train']
PRETRAIN_STEPS = 6
WILDCAM = 'synthetic_wildcam/tiny'
WILDCAM_CLASSES = 7            # 'empty' + 6 animals
EVAL_SPLITS = ('id_val', 'id_test', 'val', 'test')
FINETUNE_STEPS = 6            # of batch 16 over 240 training images: 15 steps per epoch
EVAL_EVERY_EPOCHS = 2 / 15    # evaluations during training after steps 2 and 4


def build_datasets(data_dir) -> None:
  """Builds `ft_pretrain_images` and `synthetic_wildcam/tiny` into `data_dir`."""
  toy_data.FtPretrainImages(data_dir=str(data_dir),
                            file_format='array_record').download_and_prepare()
  build.generate_if_missing(WILDCAM, str(data_dir))


def wildcam_labels(data_dir, split: str) -> np.ndarray:
  """The labels of `split` in the order the prepared dataset stores them."""
  source = loading.open_split(loading.open_dataset(WILDCAM, str(data_dir)), split)
  return np.asarray([source[i]['label'] for i in range(len(source))])


def _with(config: ml_collections.ConfigDict, overrides: dict) -> ml_collections.ConfigDict:
  config.update_from_flattened_dict(overrides)
  return config


def pretrain_config(data_dir) -> ml_collections.ConfigDict:
  """configs/train.py:tiny shrunk to a few steps on `ft_pretrain_images`."""
  return _with(load_config('train', 'tiny'), {
      'name': 'pretrain', 'data.name': 'ft_pretrain_images', 'data.data_dir': str(data_dir),
      'data.image_size': IMAGE_SIZE, 'data.eval_splits': (), 'model.width': 1.0,
      'batch_size': 16, 'num_train_steps': PRETRAIN_STEPS, 'optimizer.warmup_steps': 0,
      'checkpoint_every_steps': 3, 'log_every_steps': 3})


def finetune_config(data_dir, arg: str = 'local', **overrides) -> ml_collections.ConfigDict:
  """configs/finetune.py:<arg> on synthetic_wildcam/tiny at 16 px, pre-trained architecture."""
  return _with(load_config('finetune', arg), {
      'data.name': WILDCAM, 'data.data_dir': str(data_dir), 'data.image_size': IMAGE_SIZE,
      'model.width': 1.0, 'batch_size': 16, 'eval_batch_size': 16, 'num_epochs': None,
      'num_train_steps': FINETUNE_STEPS, 'optimizer.learning_rate': 1e-3,
      'checkpoint_every_steps': 3, 'log_every_steps': 3, **overrides})


def flat(tree) -> dict[str, np.ndarray]:
  """{'blocks/0/conv1/conv/kernel': array} of a params or batch_stats tree."""
  return {optim.param_path(p): np.asarray(x)
          for p, x in jax.tree_util.tree_leaves_with_path(tree)}


def checkpoint_arrays(run_dir) -> dict[str, dict[str, np.ndarray]]:
  """{'params': {path: array}, 'batch_stats': {...}} of a run's latest checkpoint."""
  state = checkpoint.read_state(handoff.find_checkpoint(str(run_dir)).step_dir)
  return {'params': flat(state['params']), 'batch_stats': flat(state['batch_stats'])}
