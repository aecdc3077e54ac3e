"""Every study config's smallest local variant runs end to end on the real engine and data.

The studies share one data dir, and each starts with the finished runs of the studies before
it copied into its workdir (as when merging the runs of several machines), so runs that are
the same in several studies (the scratch baselines, quickstart's and quantity's settings) are
trained once. The quickstart study killed mid pre-train, mid fine-tune and during its report
ends with the uninterrupted study's results.csv and ER table, without redoing finished runs.
"""
import contextlib
import io
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import jax
import pandas as pd
import pytest

from jaxrobust.study import plan_study, run_study
from jaxrobust.study import runner
from jaxrobust.study import state

from tests.helpers.configs import REPO, load_config
from tests.helpers.study import STUDIES

_CACHE_OPTIONS = ('jax_compilation_cache_dir', 'jax_persistent_cache_min_compile_time_secs')


@pytest.fixture(scope='module')
def shared(tmp_path_factory):
  """A data dir and a pool of finished run dirs shared by the studies of this module."""
  root = tmp_path_factory.mktemp('local_studies')
  saved = {k: getattr(jax.config, k) for k in _CACHE_OPTIONS}
  # One compilation cache for every study here, in-process and CLI (same 8 fake devices).
  jax.config.update('jax_compilation_cache_dir', str(root / 'jax_cache'))
  jax.config.update('jax_persistent_cache_min_compile_time_secs', 0)
  yield {'root': root, 'data_dir': str(root / 'data'), 'pool': root / 'pool',
         'cache_dir': str(root / 'jax_cache'), 'finished': {}}
  for key, value in saved.items():
    jax.config.update(key, value)


def _copy_runs(src, dst) -> None:
  if os.path.isdir(src):
    shutil.copytree(src, dst, dirs_exist_ok=True)


def _local_test_config(study: str, data_dir: str):
  config = load_config(study, 'test' if study == 'quickstart' else 'local,test')
  config.data_dir = data_dir
  return config


def _finished_study(study: str, shared) -> tuple[dict, str]:
  """(run_study's summary, its stdout) of the study, run once per module in shared['root']."""
  if study not in shared['finished']:
    config = _local_test_config(study, shared['data_dir'])
    workdir = str(shared['root'] / study)
    _copy_runs(shared['pool'], os.path.join(workdir, 'runs'))
    with contextlib.redirect_stdout(io.StringIO()) as stdout:
      out = run_study(config, workdir)
    _copy_runs(os.path.join(workdir, 'runs'), shared['pool'])
    shared['finished'][study] = (out, stdout.getvalue())
  return shared['finished'][study]


@pytest.mark.slow
@pytest.mark.parametrize('study', STUDIES)
def test_local_variant_runs_to_completion(study, shared):
  out, stdout = _finished_study(study, shared)
  config = _local_test_config(study, shared['data_dir'])
  workdir = str(shared['root'] / study)
  plan = plan_study(config, workdir)
  assert [state.run_state(r, workdir) for r in plan] == ['finished'] * len(plan)
  evaluated = [r for r in plan if r.kind != 'pretrain']
  with open(out['results_csv']) as f:
    assert len(f.readlines()) == 1 + len(evaluated)
  assert os.path.exists(os.path.join(workdir, 'report', 'report.md'))
  groups = [row[0] for row in out['er_by_setting']]
  assert groups[0] == 'scratch'
  assert (len(groups) > 1) == any(r.kind == 'pretrain' for r in plan)
  lines = stdout.rstrip().splitlines()
  ending = lines[-len(config.controls) - 2:] if config.controls else lines[-1:]
  assert ending[0] == f'study: report written to {workdir}/report/report.md'
  for control in ending[2:]:  # one verdict per control (the test scale learns nothing)
    assert control.endswith(' ... PASS') or ' ... FAIL' in control


# A checkpoint after every step, so the kills land in runs with a step to resume from (the
# checkpoint cadence is not part of a run's identity, so the run ids stay the uninterrupted ones).
_EVERY_STEP = ('--config.pretrain.checkpoint_every_steps=1',
               '--config.finetune.checkpoint_every_steps=1')


def _study_command(workdir, data_dir) -> list[str]:
  return [sys.executable, '-m', 'jaxrobust.main', '--config=configs/quickstart.py:test',
          f'--workdir={workdir}', f'--config.data_dir={data_dir}', *_EVERY_STEP]


def _markers(workdir) -> dict[str, str]:
  """{run_id: finished.json text} of the finished runs."""
  runs_dir = os.path.join(workdir, 'runs')
  found = {}
  for run_id in sorted(os.listdir(runs_dir)) if os.path.isdir(runs_dir) else []:
    path = os.path.join(runs_dir, run_id, state.FINISHED_MARKER)
    if os.path.exists(path):
      with open(path) as f:
        found[run_id] = f.read()
  return found


def _interrupted(workdir, prefix: str) -> list[str]:
  """Runs named `prefix`* part way: a checkpoint committed, short of the run's planned steps."""
  try:
    plan = json.loads(pathlib.Path(workdir, runner.PLAN_JSON).read_text())
  except (FileNotFoundError, json.JSONDecodeError):  # not written yet, or half written
    return []
  steps = {r['run_id']: r['steps'] for r in plan['runs']}
  found = []
  for run_dir in sorted(pathlib.Path(workdir, 'runs').glob(f'{prefix}*')):
    checkpoints = run_dir / 'checkpoints'
    saved = ([int(p.name) for p in checkpoints.iterdir() if p.name.isdigit()]
             if checkpoints.is_dir() else [])
    if saved and max(saved) < steps[run_dir.name]:
      found.append(run_dir.name)
  return found


def _run_until(command, env, log_path, condition) -> tuple[str, object]:
  """Runs `command`, SIGKILLs its process group once condition() is truthy: (output, value)."""
  value = None
  with open(log_path, 'w') as log:
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 300
    while process.poll() is None and time.time() < deadline and not (value := condition()):
      time.sleep(0.01)
    alive = process.poll() is None
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
  output = pathlib.Path(log_path).read_text()
  assert alive and value, f'the kill missed its point:\n{output[-3000:]}'
  return output, value


def _results_table(workdir) -> pd.DataFrame:
  """results.csv as text cells, without the wall-clock column, paths relative to the workdir."""
  df = pd.read_csv(os.path.join(workdir, 'results.csv'), dtype=str, keep_default_na=False)
  df['pretrain_checkpoint'] = df['pretrain_checkpoint'].str.replace(str(workdir), 'DIR')
  return df.drop(columns=['wall_seconds'])


@pytest.mark.slow
def test_a_study_killed_in_pretraining_finetuning_and_its_report_ends_as_an_uninterrupted_one(
    shared, tmp_path):
  _finished_study('quickstart', shared)
  reference = shared['root'] / 'quickstart'
  run_ids = sorted(r.run_id for r in plan_study(
      _local_test_config('quickstart', shared['data_dir']), str(reference)))
  workdir = tmp_path / 'w'
  command = _study_command(workdir, shared['data_dir'])
  env = dict(os.environ, JAX_COMPILATION_CACHE_DIR=shared['cache_dir'],
             JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS='0')

  # 1. Killed part way through the second pre-training.
  _, (killed,) = _run_until(command, env, tmp_path / '1.log',
                            lambda: _markers(workdir) and _interrupted(workdir, 'pretrain-'))
  before = _markers(workdir)
  # 2. Resumes it from its checkpoint, redoes nothing finished; killed part way through a
  # fine-tune.
  output, (next_killed,) = _run_until(command, env, tmp_path / '2.log',
                                      lambda: _interrupted(workdir, 'finetune-'))
  assert f'({len(before)} skipped)' in output and f'resuming {killed} at step' in output
  assert not any(f'starting {run_id}' in output for run_id in before)
  assert all(_markers(workdir)[run_id] == marker for run_id, marker in before.items())
  # 3. Resumes the fine-tune; killed once results.csv is written, while the report is built.
  output, _ = _run_until(command, env, tmp_path / '3.log',
                         lambda: (workdir / 'results.csv').exists())
  assert f'resuming {next_killed} at step' in output
  assert not (workdir / 'report' / 'report.md').exists()
  # 4. Trains nothing more; builds the report from the same results.
  finish = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600, check=True)
  num_runs = len(run_ids)
  assert f'{num_runs}/{num_runs} runs done ({num_runs} skipped)' in finish.stdout
  assert 'starting' not in finish.stdout and 'resuming' not in finish.stdout

  assert sorted(_markers(workdir)) == run_ids
  pd.testing.assert_frame_equal(_results_table(workdir), _results_table(reference))
  for table in ('er_table.csv', 'group_table.csv'):
    assert ((workdir / 'report' / table).read_bytes()
            == (reference / 'report' / table).read_bytes()), table
