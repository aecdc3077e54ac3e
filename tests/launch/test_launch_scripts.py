"""The SLURM and Ray launch scripts drive srun / ray exactly as documented (fakes on PATH)."""
import importlib.resources
import json
import re
import os
import shutil
import subprocess

import jsonschema
import pytest
import yaml

from tests.helpers.launch import RECORDER, ROOT, run


def sbatch_options(script: str) -> dict[str, str]:
  """The #SBATCH options of launch/<script>, as sbatch reads them (before the first command)."""
  options = {}
  for line in (ROOT / 'launch' / script).read_text().splitlines()[1:]:
    if line.startswith('#SBATCH '):
      name, _, value = line.removeprefix('#SBATCH ').partition('=')
      options[name] = value
    elif line and not line.startswith('#'):
      break
  return options


def test_slurm_script_runs_one_process_per_node_with_its_gpus_and_cpus_under_srun(fake_env):
  options = sbatch_options('slurm.sbatch')
  assert options['--ntasks-per-node'] == '1' and options['--gpus-per-node']
  assert '--gpus-per-task' not in options and '--gres' not in options
  env, log = fake_env
  env = dict(env, SRUN='srun', SLURM_CPUS_PER_TASK=options['--cpus-per-task'])
  result = run('slurm.sbatch', '--config=configs/scratch.py', '--workdir=/w', env=env)
  assert result.returncode == 0, result.stderr
  assert log.read_text().strip() == (
      f'srun --kill-on-bad-exit=1 --cpus-per-task={options["--cpus-per-task"]} python3 -m '
      'jaxrobust.main --config=configs/scratch.py --workdir=/w')


def test_ray_slurm_script_starts_a_head_and_workers_then_the_study_on_them(fake_env, tmp_path):
  env, log = fake_env
  for name in ('ray', 'python3'):
    (tmp_path / 'bin' / name).write_text(RECORDER)
    (tmp_path / 'bin' / name).chmod(0o755)
  (tmp_path / 'bin' / 'scontrol').write_text('#!/usr/bin/env bash\nprintf "n1\\nn2\\nn3\\n"\n')
  (tmp_path / 'bin' / 'scontrol').chmod(0o755)
  env = dict(env, SLURM_JOB_NODELIST='n[1-3]', SLURM_CPUS_ON_NODE='32', SLURM_GPUS_ON_NODE='8')
  result = run('ray_slurm.sbatch', '--config=configs/quantity.py', '--workdir=/w', env=env)
  assert result.returncode == 0, result.stderr
  calls = log.read_text().splitlines()
  resources = '--num-cpus=32 --num-gpus=8 --block'
  assert (f'srun --nodes=1 --ntasks=1 --cpus-per-task=32 -w n1 ray start --head --port=6379 '
          f'{resources}') in calls
  assert (f'srun --nodes=2 --ntasks=2 --cpus-per-task=32 -x n1 ray start --address=n1:6379 '
          f'{resources}') in calls
  study = ('python3 -m jaxrobust.main --config=configs/quantity.py --workdir=/w '
           '--executor=ray --ray_address=n1:6379')
  assert calls.index('ray status --address=n1:6379') < calls.index(study)  # the head is up first


def test_ray_tpu_cluster_config_is_valid_for_ray_up():
  schema = json.loads((importlib.resources.files('ray.autoscaler') / 'ray-schema.json')
                      .read_text())
  config = yaml.safe_load((ROOT / 'launch' / 'ray_tpu.yaml').read_text())
  jsonschema.validate(config, schema)
  workers = [t for name, t in config['available_node_types'].items()
             if name != config['head_node_type']]
  assert workers and all(t['resources'].get('TPU') for t in workers)
  assert all(t['node_config']['schedulingConfig'] == {'spot': True} for t in workers)
  # Every node: a Python 3.11 venv, the shared workdir mounted; the same Ray everywhere.
  assert any('uv venv -q --python 3.11 ~/venv' in c for c in config['setup_commands'])
  assert any('mount' in c and '/mnt/study' in c for c in config['setup_commands'])
  (head_install,) = config['head_setup_commands']
  (worker_install,) = config['worker_setup_commands']
  pins = {re.search(r"'ray\[default\]==([\d.]+)'", c).group(1)
          for c in (head_install, worker_install)}
  assert len(pins) == 1 and "'[tpu,ray]'" in worker_install
  header = (ROOT / 'launch' / 'ray_tpu.yaml').read_text().split('\ncluster_name')[0]
  assert f"pip install 'ray[default]=={pins.pop()}'" in header and 'ray job submit' in header


@pytest.mark.skipif(shutil.which('shellcheck') is None and not os.environ.get('CI'),
                    reason='shellcheck is not installed (make test installs it)')
def test_launch_scripts_pass_shellcheck():
  scripts = sorted(map(str, [*ROOT.glob('launch/*.sh'), *ROOT.glob('launch/*.sbatch')]))
  assert len(scripts) >= 6
  result = subprocess.run(['shellcheck', '--shell=bash', *scripts], capture_output=True,
                          text=True, check=False)
  assert result.returncode == 0, result.stdout
