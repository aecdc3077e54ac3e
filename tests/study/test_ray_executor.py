"""The Ray executor on a local Ray cluster (2 CPUs, one per module): the local executor's
numbers, recovery from a killed worker, a failing run that does not stop the others.

The studies here share one data dir and one compilation cache, so every run after the first
of its shape loads its compiled steps.
"""
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import jax
import pandas as pd
import pytest
import ray

from jaxrobust import errors
from jaxrobust.study import plan_study, ray_executor, run_study, select_runs
from jaxrobust.study import state

from tests.helpers.configs import REPO, load_config
from tests.helpers.study import FakeEngine, prepared_small_study

_CACHE_OPTIONS = ('jax_compilation_cache_dir', 'jax_persistent_cache_min_compile_time_secs')
_CACHE_ENV = ('JAX_COMPILATION_CACHE_DIR', 'JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS')
# Where a run's results depend on its directory or its speed, not on how it was trained.
_NOT_NUMBERS = ['wall_seconds', 'pretrain_checkpoint']


@pytest.fixture(scope='module')
def cluster(tmp_path_factory):
  """A local Ray cluster, a data dir and a compilation cache shared by this module's studies."""
  root = tmp_path_factory.mktemp('ray_studies')
  cache_dir = str(root / 'jax_cache')
  saved = {k: getattr(jax.config, k) for k in _CACHE_OPTIONS}
  jax.config.update('jax_compilation_cache_dir', cache_dir)  # this process (local executor)
  jax.config.update('jax_persistent_cache_min_compile_time_secs', 0)
  saved_env = {k: os.environ.get(k) for k in _CACHE_ENV}
  os.environ.update(dict(zip(_CACHE_ENV, (cache_dir, '0'))))  # the workers Ray starts
  ray.init(num_cpus=2, include_dashboard=False, runtime_env=ray_executor.runtime_env())
  yield {'root': root, 'data_dir': str(root / 'data')}
  ray.shutdown()
  for key, value in saved.items():
    jax.config.update(key, value)
  for key, value in saved_env.items():
    if value is None:
      os.environ.pop(key, None)
    else:
      os.environ[key] = value


def _quickstart(data_dir: str):
  config = load_config('quickstart', 'test')
  config.data_dir = data_dir
  return config


def _numbers(workdir, kind: str | None = None) -> pd.DataFrame:
  """results.csv without wall times and paths (of the runs of `kind`), sorted by run id."""
  df = pd.read_csv(os.path.join(workdir, 'results.csv'))
  df = df[df['kind'] == kind] if kind else df
  df = df.drop(columns=_NOT_NUMBERS, errors='ignore').dropna(axis='columns', how='all')
  return df.sort_values('run_id').reset_index(drop=True)


@pytest.fixture(scope='module')
def local_quickstart(cluster) -> str:
  """The workdir of configs/quickstart.py:test run by the local executor."""
  workdir = str(cluster['root'] / 'local')
  run_study(_quickstart(cluster['data_dir']), workdir)
  return workdir


@pytest.mark.slow
def test_quickstart_under_ray_has_the_local_executors_results(cluster, local_quickstart,
                                                                capsys):
  capsys.readouterr()
  config = _quickstart(cluster['data_dir'])
  on_ray = str(cluster['root'] / 'ray')
  out = run_study(config, on_ray, executor='ray')
  assert out['executed'] == [r.run_id for r in plan_study(config, on_ray)]
  pd.testing.assert_frame_equal(_numbers(on_ray), _numbers(local_quickstart))  # bit for bit
  printed = capsys.readouterr().out
  assert 'study: Ray cluster of 1 nodes: 2 CPU' in printed
  assert f'study: running {out["executed"][0]} on ' in printed
  n = len(out['executed'])
  assert f'study: {n}/{n} runs done (0 skipped) | elapsed' in printed
  assert os.path.exists(os.path.join(on_ray, 'report', 'report.md'))


@pytest.mark.parametrize('node, kind, expected', [
    ({'CPU': 16}, 'pretrain', {'num_cpus': 16}),  # no accelerators: the node's CPUs
    ({'CPU': 16}, 'scratch', {'num_cpus': 16}),
    ({'CPU': 96, 'GPU': 8}, 'pretrain', {'num_cpus': 1, 'num_gpus': 8}),
    ({'CPU': 96, 'GPU': 8}, 'finetune', {'num_cpus': 1, 'num_gpus': 1}),
    ({'CPU': 240, 'TPU': 4}, 'pretrain', {'num_cpus': 1, 'resources': {'TPU': 4}}),
    ({'CPU': 240, 'TPU': 4}, 'finetune', {'num_cpus': 1, 'resources': {'TPU': 1}}),
])
def test_runs_ask_for_their_kinds_default_resources(node, kind, expected):
  config = load_config('quickstart', 'test')[kind]
  config.kind = kind
  assert ray_executor.task_resources(config, node) == expected


def test_config_resources_override_the_defaults():
  config = load_config('quickstart', 'test').finetune
  config.resources.gpus, config.resources.cpus = 2, 8
  assert ray_executor.task_resources(config, {'CPU': 96, 'GPU': 8}) == {
      'num_cpus': 8, 'num_gpus': 2}
  config.resources.gpus = -1
  with pytest.raises(errors.ConfigError, match='config.finetune.resources.gpus=-1'):
    ray_executor.task_resources(config, {'CPU': 96, 'GPU': 8})


@pytest.mark.parametrize('node, kind, expected', [
    ({'CPU': 240, 'TPU': 4, 'TPU-v4-8-head': 1}, 'pretrain', {'TPU': 4}),  # one host
    ({'CPU': 180, 'TPU': 8, 'TPU-v6e-8-head': 1}, 'pretrain', {'TPU': 8}),
    ({'CPU': 240, 'TPU': 4, 'TPU-v4-16-head': 1}, 'finetune', {'TPU': 1}),  # part of a host
])
def test_tpu_requests_ray_can_place_on_one_host(node, kind, expected):
  config = load_config('quickstart', 'test')[kind]
  config.kind = kind
  assert ray_executor.task_resources(config, node)['resources'] == expected


@pytest.mark.parametrize('node, kind, chips, message', [
    ({'CPU': 240, 'TPU': 4}, 'finetune', 3, r'finetune.resources.tpus=3: Ray gives a task 1, 2, '
     r'4 or 8 TPU chips of one host \(here at most 4\); .* use launch/tpu_vm.sh'),
    ({'CPU': 240, 'TPU': 4}, 'pretrain', 8, r'pretrain.resources.tpus=8: .*at most 4'),
    ({'CPU': 240, 'TPU': 4, 'TPU-v4-16-head': 1}, 'pretrain', None,
     r'pretrain.resources.tpus=4: a whole host of a multi-host v4-16 slice .* launch/tpu_vm.sh'),
    ({'CPU': 112, 'TPU': 4, 'TPU-v5litepod-16-head': 1}, 'pretrain', None,
     r'multi-host v5litepod-16 slice'),
], ids=['not_1_2_4_8', 'more_than_a_host', 'v4_slice', 'v5e_slice'])
def test_tpu_requests_ray_cannot_place_are_one_line_errors(node, kind, chips, message):
  config = load_config('quickstart', 'test')[kind]
  config.kind, config.resources.tpus = kind, chips
  with pytest.raises(errors.ConfigError, match=message) as raised:
    ray_executor.task_resources(config, node)
  assert '\n' not in str(raised.value)


def _worker_pid(run_id: str) -> int | None:
  """The pid of the Ray worker executing the task named `run_id` (its title is ray::<name>)."""
  for pid in filter(str.isdigit, os.listdir('/proc')):
    try:
      with open(f'/proc/{pid}/cmdline', 'rb') as f:
        if f.read().split(b'\0')[0] == f'ray::{run_id}'.encode():
          return int(pid)
    except OSError:
      continue
  return None


def _kill_mid_run(runs, workdir: str, study: threading.Thread) -> tuple[str, int]:
  """SIGKILLs the worker of the first of `runs` seen after a checkpoint and before its end.

  Returns the killed run's id and its newest checkpoint step at the kill.
  """
  deadline = time.time() + 240
  while study.is_alive() and time.time() < deadline:
    for run in runs:
      step = state.checkpoint_step(run, workdir)
      pid = _worker_pid(run.run_id) if step else None
      if pid and state.run_state(run, workdir) != 'finished':
        os.kill(pid, signal.SIGKILL)
        return run.run_id, step
    time.sleep(0.01)
  raise AssertionError('no run was seen between a checkpoint and its end, to kill it there')


@pytest.mark.slow
def test_a_killed_worker_is_retried_and_its_run_resumes_with_the_same_results(
    cluster, local_quickstart):
  config = _quickstart(cluster['data_dir'])
  config.scratch.checkpoint_every_steps = 1  # not part of run ids or results
  on_ray = str(cluster['root'] / 'kill')
  scratch = select_runs(plan_study(config, on_ray), 'scratch-*')
  summary = {}
  study = threading.Thread(target=lambda: summary.update(
      run_study(config, on_ray, only='scratch-*', executor='ray')))
  study.start()
  killed, step = _kill_mid_run(scratch, on_ray, study)
  study.join(timeout=300)
  assert summary, 'the study did not complete after the kill'
  assert summary['resumed'][killed] >= step  # the retry resumed, it did not start over
  pd.testing.assert_frame_equal(_numbers(on_ray), _numbers(local_quickstart, 'scratch'))


@pytest.mark.slow
def test_a_failing_run_is_listed_at_the_end_and_the_others_finish(cluster, tmp_path, capsys):
  config = prepared_small_study(tmp_path)
  plan = plan_study(config)
  failing = plan[0]  # a pre-training: its fine-tunes cannot run either
  with pytest.raises(errors.RunsFailedError) as failed:
    run_study(config, str(tmp_path / 'w'), executor='ray',
              train_fn=FakeEngine(nan_for=failing.run_id))
  dependents = [r.run_id for r in plan if r.pretrain_id == failing.run_id]
  assert set(failed.value.failures) == {failing.run_id, *dependents}
  assert 'NonFiniteLossError' in failed.value.failures[failing.run_id]
  others = [r for r in plan if r.run_id not in failed.value.failures]
  assert len(others) == len(plan) - 1 - len(dependents) > 0
  assert all(state.run_state(r, str(tmp_path / 'w')) == 'finished' for r in others)
  table = capsys.readouterr().out.split('failed run')[-1]
  assert all(run_id in table for run_id in failed.value.failures)
  assert str(failed.value).startswith(f'{len(failed.value.failures)} of {len(plan)} runs failed')


def test_an_unreachable_ray_address_is_a_one_line_error(tmp_path):
  with socket.socket() as s:  # a port nothing listens on
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
  result = subprocess.run(
      [sys.executable, '-m', 'jaxrobust.main', '--config=configs/quickstart.py:test',
       f'--workdir={tmp_path}', '--executor=ray', f'--ray_address=127.0.0.1:{port}'],
      cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
  assert result.returncode == 1
  lines = result.stderr.strip().splitlines()
  assert lines == [f'error: --ray_address=127.0.0.1:{port}: no Ray cluster answers there '
                   '(Connection refused); start one (`ray start --head`, launch/ray_tpu.yaml, '
                   'launch/ray_slurm.sbatch) or use --ray_address=auto on a node of the '
                   'cluster.'], result.stderr
