"""Engine test fixtures: a tiny PNG dataset in TFDS array_record, the reference run, XLA cache.

The tests use `tiny_images` (4 classes, 20 px, built in 0.1 s) rather than
`fractaldb/tiny`, whose generation alone takes ~20 s on 2 cores.
"""
import os
import pathlib

import jax
import pytest

from jaxrobust.study import stages
from jaxrobust.train import loop

from tests.helpers.engine import tiny_config
from tests.helpers.toy_data import TinyImages


@pytest.fixture(scope='session', autouse=True)
def compilation_cache(tmp_path_factory) -> pathlib.Path:
  """One persistent XLA cache for this session's runs, in-process and in subprocesses.

  The engine's runs compile the same programs again and again (the reference run, the
  killed and the resumed run); caching them only saves time, the executables are the same.
  """
  path = tmp_path_factory.mktemp('xla_cache')
  settings = {'jax_compilation_cache_dir': str(path),
              'jax_persistent_cache_min_compile_time_secs': 0,
              'jax_persistent_cache_min_entry_size_bytes': 0}
  for name, value in settings.items():
    jax.config.update(name, value)
    os.environ[name.upper()] = str(value)  # inherited by the CLI subprocesses
  return path


@pytest.fixture(scope='session')
def data_dir(tmp_path_factory) -> pathlib.Path:
  """A TFDS data_dir holding the built `tiny_images` dataset."""
  path = tmp_path_factory.mktemp('tfds')
  TinyImages(data_dir=str(path), file_format='array_record').download_and_prepare()
  return path


@pytest.fixture(scope='session')
def reference_run(data_dir, tmp_path_factory) -> dict:
  """The tiny run trained in this process on 8 devices: its results dict."""
  workdir = tmp_path_factory.mktemp('reference')
  return stages.execute_single(tiny_config(data_dir), workdir)
