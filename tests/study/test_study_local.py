"""Every study config's smallest local variant runs end to end on the real engine and data.

The studies share one data dir, and each starts with the finished runs of the studies before
it copied into its workdir (as when merging the runs of several machines), so runs that are
the same in several studies (the scratch baselines, quickstart's and quantity's settings) are
trained once. A killed CLI study restarts without redoing its finished runs.
"""
import os
import shutil
import signal
import subprocess
import sys
import time

import jax
import pytest

from jaxrobust.study import plan_study, run_study, select_runs
from jaxrobust.study import state

from tests.helpers.configs import REPO, load_config
from tests.helpers.study import STUDIES

_CACHE_OPTIONS = ('jax_compilation_cache_dir', 'jax_persistent_cache_min_compile_time_secs')
# The first two scratch baselines: the kill lands after the first, the restart runs the second.
_KILL_SLICE = 'scratch-lr1e3-*,scratch-lr3e3-*'


@pytest.fixture(scope='module')
def shared(tmp_path_factory):
  """A data dir and a pool of finished run dirs shared by the studies of this module."""
  root = tmp_path_factory.mktemp('local_studies')
  saved = {k: getattr(jax.config, k) for k in _CACHE_OPTIONS}
  # One compilation cache for every study here, in-process and CLI (same 8 fake devices).
  jax.config.update('jax_compilation_cache_dir', str(root / 'jax_cache'))
  jax.config.update('jax_persistent_cache_min_compile_time_secs', 0)
  yield {'root': root, 'data_dir': str(root / 'data'), 'pool': root / 'pool',
         'cache_dir': str(root / 'jax_cache')}
  for key, value in saved.items():
    jax.config.update(key, value)


def _copy_runs(src, dst) -> None:
  if os.path.isdir(src):
    shutil.copytree(src, dst, dirs_exist_ok=True)


def _local_test_config(study: str, data_dir: str):
  config = load_config(study, 'test' if study == 'quickstart' else 'local,test')
  config.data_dir = data_dir
  return config


@pytest.mark.parametrize('study', STUDIES)
def test_local_variant_runs_to_completion(study, shared, capsys):
  config = _local_test_config(study, shared['data_dir'])
  workdir = str(shared['root'] / study)
  _copy_runs(shared['pool'], os.path.join(workdir, 'runs'))
  out = run_study(config, workdir)
  plan = plan_study(config, workdir)
  assert [state.run_state(r, workdir) for r in plan] == ['finished'] * len(plan)
  evaluated = [r for r in plan if r.kind != 'pretrain']
  with open(out['results_csv']) as f:
    assert len(f.readlines()) == 1 + len(evaluated)
  assert os.path.exists(os.path.join(workdir, 'report', 'report.md'))
  groups = [row[0] for row in out['er_by_setting']]
  assert groups[0] == 'scratch'
  assert (len(groups) > 1) == any(r.kind == 'pretrain' for r in plan)
  assert capsys.readouterr().out.rstrip().endswith(f'report written to {workdir}/report/report.md')
  _copy_runs(os.path.join(workdir, 'runs'), shared['pool'])


def _study_command(workdir, data_dir) -> list[str]:
  return [sys.executable, '-m', 'jaxrobust.main', '--config=configs/scratch.py:local,test',
          f'--workdir={workdir}', f'--config.data_dir={data_dir}', f'--only={_KILL_SLICE}']


def _markers(workdir) -> dict[str, str]:
  runs_dir = os.path.join(workdir, 'runs')
  found = {}
  for run_id in sorted(os.listdir(runs_dir)) if os.path.isdir(runs_dir) else []:
    path = os.path.join(runs_dir, run_id, state.FINISHED_MARKER)
    if os.path.exists(path):
      with open(path) as f:
        found[run_id] = f.read()
  return found


def test_killed_study_restarts_without_redoing_finished_runs(shared, tmp_path):
  workdir = tmp_path / 'w'
  command = _study_command(workdir, shared['data_dir'])
  env = dict(os.environ, JAX_COMPILATION_CACHE_DIR=shared['cache_dir'],
             JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS='0')
  with open(tmp_path / 'first.log', 'w') as log:
    first = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)
    deadline = time.time() + 300
    while not _markers(workdir) and first.poll() is None and time.time() < deadline:
      time.sleep(0.1)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
  before = _markers(workdir)
  num_runs = len(select_runs(plan_study(load_config('scratch', 'local,test')), _KILL_SLICE))
  assert 1 <= len(before) < num_runs, 'the kill must land between two runs'

  restart = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                           timeout=600, check=True)
  after = _markers(workdir)
  assert len(after) == num_runs
  assert all(after[run_id] == marker for run_id, marker in before.items())  # not redone
  assert f'({len(before)} skipped)' in restart.stdout
  assert not any(f'starting {run_id}' in restart.stdout for run_id in before)

  again = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=600, check=True)
  assert f'{num_runs}/{num_runs} runs done ({num_runs} skipped)' in again.stdout
  assert 'starting' not in again.stdout and 'resuming' not in again.stdout
  assert _markers(workdir) == after
