"""A run killed with SIGKILL and restarted with the same command ends bitwise where an
uninterrupted run ends: parameters, BatchNorm statistics, optimizer state, data order.

The killed and the restarted run read their input with 2 grain worker processes (every paper
config uses 8), the reference run in-process: the worker path yields the same batches, from the
start and from the resume position. The config hash ignores `data.num_workers`, so all three
are one run id.
"""
import pytest
import os
import pathlib
import signal
import subprocess
import time

import jax
import numpy as np

from tests.helpers.configs import REPO
from tests.helpers.engine import cli_command, cli_env, only_run_dir, run_cli, train_losses
from jaxrobust.train import checkpoint

WORKERS = {'data.num_workers': 2}


def _kill_after_checkpoint(workdir: pathlib.Path, data_dir, step: int) -> int:
  """Starts the run, SIGKILLs it (and its input workers) once checkpoint `step` is committed."""
  process = subprocess.Popen(cli_command(workdir, data_dir, **WORKERS), cwd=REPO,
                             env=cli_env(8), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
  deadline = time.monotonic() + 240
  runs = workdir / 'runs'
  while time.monotonic() < deadline and process.poll() is None:
    if any((run / 'checkpoints' / str(step)).is_dir() for run in runs.glob('*')):
      break
    time.sleep(0.01)
  os.killpg(process.pid, signal.SIGKILL)  # the process group: the run and its grain workers
  return process.wait(timeout=60)


@pytest.mark.slow
def test_killed_run_resumes_bitwise_equal_to_an_uninterrupted_run(
    reference_run, data_dir, tmp_path):
  assert _kill_after_checkpoint(tmp_path, data_dir, step=8) == -signal.SIGKILL
  run_dir = only_run_dir(tmp_path)
  saved = sorted(int(p.name) for p in (run_dir / 'checkpoints').iterdir() if p.name.isdigit())
  assert saved and max(saved) < 24, f'the run was not killed mid-training: {saved}'

  run_cli(tmp_path, data_dir, **WORKERS)

  reference_dir = pathlib.Path(reference_run.run_dir) / 'checkpoints' / '24'
  resumed_dir = run_dir / 'checkpoints' / '24'
  reference, resumed = (checkpoint.read_state(reference_dir),
                        checkpoint.read_state(resumed_dir))
  assert jax.tree.structure(resumed) == jax.tree.structure(reference)
  for a, b in zip(jax.tree.leaves(resumed), jax.tree.leaves(reference)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  assert ((resumed_dir / 'data' / 'metadata').read_text()
          == (reference_dir / 'data' / 'metadata').read_text())
  # metrics.jsonl holds every step once, with the uninterrupted run's losses.
  assert train_losses(run_dir) == train_losses(reference_run.run_dir)
