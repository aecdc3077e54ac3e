"""The launch scripts' tests run against fake gcloud, srun, sudo and uv binaries."""
import os
import pathlib

import pytest

from tests.helpers.launch import FAKE_GCLOUD, FAKE_PYTHON, FAKE_UV, RECORDER, write_executable


@pytest.fixture
def fake_env(tmp_path) -> tuple[dict[str, str], pathlib.Path]:
  """(environment with fake gcloud, srun, sudo, uv on PATH and GCLOUD set, the call log)."""
  bin_dir = tmp_path / 'bin'
  bin_dir.mkdir()
  for name in ('srun', 'sudo'):
    write_executable(bin_dir / name, RECORDER)
  gcloud = write_executable(bin_dir / 'gcloud', FAKE_GCLOUD)
  write_executable(bin_dir / 'uv', FAKE_UV)
  log = tmp_path / 'calls.log'
  log.touch()
  env = dict(os.environ, PATH=f'{bin_dir}:{os.environ["PATH"]}', FAKE_LOG=str(log),
             FAKE_DIR=str(tmp_path), GCLOUD=gcloud, POLL_S='0.05', SUDO='sudo',
             FAKE_PYTHON=write_executable(tmp_path / 'python', FAKE_PYTHON))
  return env, log
