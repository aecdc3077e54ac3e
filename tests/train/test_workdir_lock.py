"""One writer per workdir: a second process is refused or waits; a dead holder's lock is taken."""
import errno
import json
import logging
import os
import signal
import socket
import subprocess

import pytest

from jaxrobust.errors import UserError
from jaxrobust.study import workdir_lock
from tests.helpers import lock_holder
from tests.helpers.configs import REPO
from tests.helpers.engine import cli_command, cli_env


def _lock(workdir) -> dict:
  return json.loads((workdir / workdir_lock.LOCK_FILE).read_text())


@pytest.mark.slow
def test_a_second_process_on_a_held_workdir_is_refused_in_one_line(data_dir, tmp_path):
  holder = lock_holder.start(tmp_path, 120)
  try:
    result = subprocess.run(cli_command(tmp_path, data_dir, num_train_steps=4), cwd=REPO,
                            env=cli_env(1), capture_output=True, text=True, timeout=240)
  finally:
    holder.kill()
    holder.wait()
  assert result.returncode != 0
  errors = [line for line in result.stderr.splitlines() if 'error' in line.lower()]
  assert len(errors) == 1 and 'Traceback' not in result.stderr, result.stderr[-3000:]
  assert errors[0].startswith('error: ')
  assert f'pid {holder.pid} on {socket.gethostname()} since ' in errors[0]
  assert '--wait' in errors[0]
  assert not (tmp_path / 'runs').exists()


@pytest.mark.slow
def test_with_wait_a_run_waits_for_the_holder_then_runs(data_dir, tmp_path):
  holder = lock_holder.start(tmp_path, 5)
  result = subprocess.run(cli_command(tmp_path, data_dir, num_train_steps=4) + ['--wait'],
                          cwd=REPO, env=cli_env(1), capture_output=True, text=True,
                          timeout=240)
  assert holder.wait(timeout=10) == 0
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'Waiting for pid' in result.stderr
  assert len(list((tmp_path / 'runs').glob('*/checkpoints/4'))) == 1
  assert not (tmp_path / workdir_lock.LOCK_FILE).exists()  # released at exit


def test_the_lock_of_a_holder_killed_with_sigkill_is_taken_over_with_a_warning(tmp_path, caplog):
  holder = lock_holder.start(tmp_path, 120)
  os.kill(holder.pid, signal.SIGKILL)
  holder.wait()
  assert _lock(tmp_path)['pid'] == holder.pid  # a kill -9 leaves the lock behind
  with caplog.at_level(logging.WARNING), workdir_lock.held(str(tmp_path)):
    assert _lock(tmp_path)['pid'] == os.getpid()
  (warning,) = [r.getMessage() for r in caplog.records if 'taking it over' in r.getMessage()]
  assert f'pid {holder.pid}' in warning
  assert not (tmp_path / workdir_lock.LOCK_FILE).exists()


def test_a_lock_held_from_another_host_is_respected(tmp_path):
  (tmp_path / workdir_lock.LOCK_FILE).write_text(json.dumps(
      {'host': 'other-host', 'pid': 999999999, 'since': '2026-01-01T00:00:00+00:00'}))
  with pytest.raises(workdir_lock.WorkdirLockedError, match='pid 999999999 on other-host'):
    workdir_lock.acquire(str(tmp_path))


def test_the_lock_is_released_when_the_holder_fails(tmp_path):
  with pytest.raises(RuntimeError), workdir_lock.held(str(tmp_path)):
    raise RuntimeError('the run failed')
  assert not (tmp_path / workdir_lock.LOCK_FILE).exists()


def test_a_workdir_that_cannot_be_written_is_one_error(tmp_path, monkeypatch):
  def read_only(*args, **kwargs):  # file modes do not stop root: the link itself is refused
    raise OSError(errno.EROFS, 'Read-only file system')
  monkeypatch.setattr(os, 'link', read_only)
  with pytest.raises(UserError, match=f'Cannot write to the workdir {tmp_path} '
                                      r'\(Read-only file system\)'):
    workdir_lock.acquire(str(tmp_path))
