"""Session fixtures: the datasets, one pre-training run and the fine-tune runs from it."""
import pathlib

import pytest

from jaxrobust.study import stages
from jaxrobust.train import loop

from tests.helpers import finetune as ff


@pytest.fixture(scope='session')
def data_dir(tmp_path_factory) -> pathlib.Path:
  """A TFDS data_dir holding `ft_pretrain_images` and `synthetic_wildcam/tiny`."""
  path = tmp_path_factory.mktemp('tfds')
  ff.build_datasets(str(path))
  return path


@pytest.fixture(scope='session')
def workdir(tmp_path_factory) -> pathlib.Path:
  return tmp_path_factory.mktemp('workdir')


@pytest.fixture(scope='session')
def pretrain_dir(data_dir, workdir) -> pathlib.Path:
  """The run directory of a tiny model pre-trained on 5 classes."""
  return pathlib.Path(stages.execute_single(ff.pretrain_config(data_dir), workdir).run_dir)


@pytest.fixture(scope='session')
def finetune_dir(data_dir, workdir, pretrain_dir) -> pathlib.Path:
  """A full fine-tune of it on 7-class camera traps, also evaluated during training."""
  config = ff.finetune_config(data_dir, **{
      'init.model_init': str(pretrain_dir), 'eval_every_epochs': ff.EVAL_EVERY_EPOCHS,
      'save_logits': True})
  return pathlib.Path(stages.execute_single(config, workdir).run_dir)
