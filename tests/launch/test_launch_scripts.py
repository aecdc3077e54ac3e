"""The SLURM and Ray launch scripts drive srun / ray exactly as documented (fakes on PATH)."""
import importlib.resources
import json

import jsonschema
import yaml

from tests.helpers.launch import RECORDER, ROOT, run


def test_slurm_script_runs_main_under_srun(fake_env):
  env, log = fake_env
  env = dict(env, SRUN='srun')
  result = run('slurm.sbatch', '--config=configs/scratch.py', '--workdir=/w', env=env)
  assert result.returncode == 0, result.stderr
  assert log.read_text().strip() == (
      'srun --kill-on-bad-exit=1 python3 -m jaxrobust.main --config=configs/scratch.py '
      '--workdir=/w')


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
  assert f'srun --nodes=1 --ntasks=1 -w n1 ray start --head --port=6379 {resources}' in calls
  assert f'srun --nodes=2 --ntasks=2 -x n1 ray start --address=n1:6379 {resources}' in calls
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
  assert any(".[tpu,ray]" in c for c in config['worker_setup_commands'])
