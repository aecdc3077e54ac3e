"""The same run gives the same losses and evaluation on 1 device, 8 devices and 2 processes x 4.

The evaluation's figures come from every process's share of the padded eval batches gathered
into one set of predictions, so a lost or doubled share changes num_examples or the scores.
"""
import pytest
import subprocess

import numpy as np
import portpicker

from jaxrobust.train import writers
from tests.helpers.configs import REPO
from tests.helpers.engine import cli_command, cli_env, only_run_dir, run_cli, train_losses


# Checkpoint cadence does not change results; one save at the end keeps these runs short.
ONE_SAVE = {'checkpoint_every_steps': 24}


def _assert_same_losses(losses: dict[int, float], reference: dict[int, float]) -> None:
  assert sorted(losses) == sorted(reference) == list(range(1, len(reference) + 1))
  steps = sorted(reference)
  np.testing.assert_allclose([losses[s] for s in steps], [reference[s] for s in steps],
                             rtol=1e-4)


def _final_eval(run_dir) -> dict[str, float]:
  """{'eval/test/macro_f1': ..., ...} written at the run's last step."""
  records = writers.read_metrics(run_dir / writers.METRICS_FILE)
  last = max(r['step'] for r in records)
  return {k: v for r in records if r['step'] == last for k, v in r.items()
          if k.startswith('eval/')}


def _assert_same_run(run_dir, reference_run) -> None:
  _assert_same_losses(train_losses(run_dir), train_losses(reference_run.run_dir))
  scores = reference_run.scores['test']
  assert _final_eval(run_dir) == {f'eval/test/{k}': v for k, v in scores.items()}


@pytest.mark.slow
def test_one_device_gives_the_losses_and_evaluation_of_eight_devices(
    reference_run, data_dir, tmp_path):
  run_cli(tmp_path, data_dir, num_devices=1, **ONE_SAVE)
  _assert_same_run(only_run_dir(tmp_path), reference_run)


@pytest.mark.slow
def test_two_processes_of_four_devices_give_the_losses_and_evaluation_of_eight_devices(
    reference_run, data_dir, tmp_path):
  port = portpicker.pick_unused_port()
  processes = [
      subprocess.Popen(cli_command(tmp_path, data_dir, **ONE_SAVE), cwd=REPO, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=cli_env(4, JAX_COORDINATOR_ADDRESS=f'localhost:{port}',
                                   JAX_NUM_PROCESSES='2', JAX_PROCESS_ID=str(i)))
      for i in range(2)]
  for process in processes:
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr[-3000:]
  _assert_same_run(only_run_dir(tmp_path), reference_run)
