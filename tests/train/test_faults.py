"""Faults on one machine: damaged checkpoints fall back, SIGTERM saves, metrics keep one history."""
import errno
import logging
import pathlib
import shutil
import signal
import subprocess
import time

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest
import tensorflow as tf

from jaxrobust.datasets import build
from jaxrobust.train import checkpoint
from jaxrobust.train import interrupt
from jaxrobust.train import loop
from jaxrobust.train import writers
from tests.helpers.configs import REPO
from tests.helpers.engine import cli_command, cli_env, only_run_dir, tiny_config
from tests.helpers.engine import DAMAGE, train_losses, truncate_array, truncate_metadata
from tests.helpers.toy_data import TinyImages

FINAL = 24  # the tiny run's steps; it keeps checkpoints 20 and 24
PREVIOUS = 20


def _copy_run(reference_run, tmp_path) -> pathlib.Path:
  return pathlib.Path(shutil.copytree(reference_run.run_dir, tmp_path / 'run'))


def _assert_same_final_state(run_dir, reference_run):
  final = f'checkpoints/{FINAL}'
  resumed = checkpoint.read_state(pathlib.Path(run_dir) / final)
  reference = checkpoint.read_state(pathlib.Path(reference_run.run_dir) / final)
  assert jax.tree.structure(resumed) == jax.tree.structure(reference)
  for a, b in zip(jax.tree.leaves(resumed), jax.tree.leaves(reference)):
    np.testing.assert_array_equal(a, b)


def _assert_resumed_at(caplog, step: int) -> None:
  """The run said it resumed at `step`, and never that it starts again from zero."""
  messages = [r.getMessage() for r in caplog.records]
  assert any(f'at step {step} of {FINAL}' in m for m in messages), messages
  assert not any('starts again from step 0' in m for m in messages)


def _assert_one_history(run_dir):
  """metrics.jsonl and the event files hold every (step, name) once, steps in order."""
  records = writers.read_metrics(pathlib.Path(run_dir) / writers.METRICS_FILE)
  steps = [r['step'] for r in records]
  assert steps == sorted(steps) and steps[-1] == FINAL
  names = [(r['step'], k) for r in records for k in r if k != 'step']
  assert len(names) == len(set(names))
  events = [(e.step, v.tag) for path in sorted(pathlib.Path(run_dir).glob('events.out.*'))
            for e in map(tf.compat.v1.Event.FromString,
                         tf.compat.v1.io.tf_record_iterator(str(path)))
            for v in e.summary.value]
  assert len(events) == len(set(events)) and (FINAL, 'eval/test/macro_f1') in events


@pytest.mark.slow
@pytest.mark.parametrize('damage', DAMAGE)
def test_a_damaged_latest_checkpoint_is_moved_aside_and_the_previous_one_resumes(
    damage, reference_run, data_dir, tmp_path, caplog):
  run_dir = _copy_run(reference_run, tmp_path)
  DAMAGE[damage](run_dir / 'checkpoints' / str(FINAL))
  with caplog.at_level(logging.INFO):
    results = loop.train_and_evaluate(tiny_config(data_dir), run_dir)
  moved = run_dir / 'checkpoints' / f'{FINAL}.corrupt-1'
  assert moved.is_dir()
  warnings = [r.getMessage() for r in caplog.records if 'Moved it aside' in r.getMessage()]
  assert len(warnings) == 1 and str(moved) in warnings[0]
  _assert_resumed_at(caplog, PREVIOUS)
  _assert_same_final_state(run_dir, reference_run)
  assert train_losses(run_dir) == train_losses(reference_run.run_dir)
  assert results.scores == reference_run.scores
  _assert_one_history(run_dir)


def test_with_no_readable_checkpoint_the_run_starts_again_from_zero(
    reference_run, data_dir, tmp_path, caplog):
  run_dir = _copy_run(reference_run, tmp_path)
  truncate_metadata(run_dir / 'checkpoints' / str(PREVIOUS))
  truncate_array(run_dir / 'checkpoints' / str(FINAL))
  with caplog.at_level(logging.WARNING):
    loop.train_and_evaluate(tiny_config(data_dir), run_dir)
  assert any('starts again from step 0' in r.getMessage() for r in caplog.records)
  assert {p.name for p in (run_dir / 'checkpoints').iterdir()} >= {f'{PREVIOUS}.corrupt-1',
                                                                   f'{FINAL}.corrupt-1'}
  _assert_same_final_state(run_dir, reference_run)
  assert train_losses(run_dir) == train_losses(reference_run.run_dir)
  _assert_one_history(run_dir)


def test_a_save_killed_half_way_leaves_the_previous_step_to_resume(
    reference_run, data_dir, tmp_path, caplog):
  # What orbax leaves when killed while writing step 24: its temporary directory, half written.
  run_dir = _copy_run(reference_run, tmp_path)
  checkpoints = run_dir / 'checkpoints'
  (checkpoints / str(FINAL)).rename(checkpoints / f'{FINAL}.orbax-checkpoint-tmp-1700000000')
  truncate_array(checkpoints / f'{FINAL}.orbax-checkpoint-tmp-1700000000')
  with caplog.at_level(logging.INFO):
    loop.train_and_evaluate(tiny_config(data_dir), run_dir)
  _assert_resumed_at(caplog, PREVIOUS)
  _assert_same_final_state(run_dir, reference_run)
  _assert_one_history(run_dir)


def test_a_resume_at_the_last_step_evaluates_once_and_keeps_the_train_loss(
    reference_run, data_dir, tmp_path):
  run_dir = _copy_run(reference_run, tmp_path)
  results = loop.train_and_evaluate(tiny_config(data_dir), run_dir)
  assert results.train_loss == reference_run.train_loss
  assert results.scores == reference_run.scores
  _assert_one_history(run_dir)


@pytest.mark.slow
def test_sigterm_saves_the_current_step_and_the_rerun_resumes_there(
    reference_run, data_dir, tmp_path, caplog):
  process = subprocess.Popen(cli_command(tmp_path, data_dir), cwd=REPO, env=cli_env(8),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
  deadline = time.monotonic() + 240
  while time.monotonic() < deadline and process.poll() is None:
    metrics = list((tmp_path / 'runs').glob(f'*/{writers.METRICS_FILE}'))
    if metrics and train_losses(metrics[0].parent):
      process.send_signal(signal.SIGTERM)
      break
    time.sleep(0.01)
  _, stderr = process.communicate(timeout=120)
  assert process.returncode == interrupt.EXIT_CODE, stderr[-3000:]
  run_dir = only_run_dir(tmp_path)
  saved = max(int(p.name) for p in (run_dir / 'checkpoints').iterdir() if p.name.isdigit())
  assert 0 < saved < FINAL
  (line,) = [l for l in stderr.splitlines() if 'Rerun the same command' in l]
  assert line.startswith('SIGTERM: stopped after step') and f'checkpoints/{saved}.' in line

  with caplog.at_level(logging.INFO):
    loop.train_and_evaluate(tiny_config(data_dir), run_dir)
  assert any(f'at step {saved} of {FINAL}' in r.getMessage() for r in caplog.records)
  _assert_same_final_state(run_dir, reference_run)
  assert train_losses(run_dir) == train_losses(reference_run.run_dir)
  _assert_one_history(run_dir)


def test_a_killed_dataset_build_leaves_nothing_the_next_build_trips_on(tmp_path):
  builder = TinyImages(data_dir=str(tmp_path), file_format='array_record')
  stale = tmp_path / 'tiny_images' / 'incomplete.K1LLED_1.0.0'
  other = tmp_path / 'tiny_images' / 'incomplete.K1LLED_2.0.0'  # another version's build
  for path in (stale, other):
    (path / 'part').mkdir(parents=True)
  build.remove_incomplete(builder)
  assert not stale.exists() and other.exists()
  builder.download_and_prepare()
  assert builder.is_prepared()


def test_a_signal_during_the_last_save_still_stops_the_process(
    reference_run, data_dir, tmp_path, monkeypatch):
  run_dir = _copy_run(reference_run, tmp_path)
  shutil.rmtree(run_dir / 'checkpoints' / str(FINAL))  # resume at 20, save 24 again
  save = checkpoint.save

  def save_then_signalled(manager, step, state, data_state):
    save(manager, step, state, data_state)
    if data_state['next_batch'] == FINAL:
      signal.raise_signal(signal.SIGTERM)
  monkeypatch.setattr(checkpoint, 'save', save_then_signalled)
  with pytest.raises(interrupt.Interrupted) as raised:
    loop.train_and_evaluate(tiny_config(data_dir), run_dir)
  assert raised.value.code == interrupt.EXIT_CODE
  assert f'checkpoints/{FINAL}.' in raised.value.message
  _assert_same_final_state(run_dir, reference_run)


@pytest.mark.slow
def test_two_processes_started_2_s_apart_on_one_workdir_match_a_solo_run(
    reference_run, data_dir, tmp_path):
  # The second waits (--wait), then finds the run finished. A second one without --wait is
  # refused in one line: tests/train/test_workdir_lock.py, with a stand-in holder.
  first = subprocess.Popen(cli_command(tmp_path, data_dir), cwd=REPO, env=cli_env(8),
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
  time.sleep(2)
  second = subprocess.run(cli_command(tmp_path, data_dir) + ['--wait'], cwd=REPO,
                          env=cli_env(8), capture_output=True, text=True, timeout=480)
  _, stderr = first.communicate(timeout=240)
  assert first.returncode == 0, stderr[-3000:]
  assert second.returncode == 0, second.stderr[-3000:]
  run_dir = only_run_dir(tmp_path)
  _assert_same_final_state(run_dir, reference_run)
  assert train_losses(run_dir) == train_losses(reference_run.run_dir)
  _assert_one_history(run_dir)


def test_a_full_disk_during_a_save_stops_the_run_in_one_line_and_the_rerun_resumes_exactly(
    reference_run, data_dir, tmp_path, monkeypatch, caplog):
  run_dir = tmp_path / 'run'
  write = ocp.handlers.JsonCheckpointHandler._save_fn  # pylint: disable=protected-access

  def disk_full_at_step_8(handler, item, directory):
    if pathlib.Path(directory).parent.name.startswith('8.'):
      raise OSError(errno.ENOSPC, 'No space left on device', str(directory))
    return write(handler, item, directory)
  monkeypatch.setattr(ocp.handlers.JsonCheckpointHandler, '_save_fn', disk_full_at_step_8)
  with pytest.raises(checkpoint.CheckpointWriteError) as raised:
    loop.train_and_evaluate(tiny_config(data_dir), run_dir)
  message = str(raised.value)
  assert message.startswith(f'Saving checkpoint step 8 in {run_dir / "checkpoints"} failed: '
                            'the disk is full (a checkpoint step takes about ')
  assert f'last intact checkpoint: step 4 in {run_dir / "checkpoints"}.' in message
  steps = [p.name for p in (run_dir / 'checkpoints').iterdir() if p.name.isdigit()]
  assert steps == ['4']

  monkeypatch.undo()
  with caplog.at_level(logging.INFO):
    loop.train_and_evaluate(tiny_config(data_dir), run_dir)
  _assert_resumed_at(caplog, 4)
  assert not list((run_dir / 'checkpoints').glob('*orbax-checkpoint-tmp*'))  # partial save gone
  _assert_same_final_state(run_dir, reference_run)
  assert train_losses(run_dir) == train_losses(reference_run.run_dir)
  _assert_one_history(run_dir)
