"""Fixtures: data dirs holding the toy bases of subsets_toy.py (built once per session)."""
import shutil

import pytest
import tensorflow_datasets as tfds

from tests.helpers.subsets import TOY, TOY_FLAT


@pytest.fixture(scope='session')
def base_dir(tmp_path_factory) -> str:
  """A data dir holding both toy bases (built once per session; do not write into it)."""
  data_dir = str(tmp_path_factory.mktemp('bases'))
  for name in (TOY, TOY_FLAT):
    tfds.builder(name, data_dir=data_dir).download_and_prepare()
  return data_dir


@pytest.fixture
def data_dir(base_dir, tmp_path) -> str:
  """A fresh data dir with copies of the toy bases, for tests that materialize subsets."""
  target = str(tmp_path / 'data')
  shutil.copytree(base_dir, target)
  return target
