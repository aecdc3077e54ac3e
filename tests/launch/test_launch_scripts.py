"""Launch scripts drive gcloud / srun exactly as documented (fake binaries on PATH)."""
import importlib.resources
import json
import os
import pathlib
import subprocess

import jsonschema
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
FAKE = '#!/usr/bin/env bash\necho "$(basename "$0") $*" >> "$FAKE_LOG"\n'


@pytest.fixture
def fake_env(tmp_path):
  bin_dir = tmp_path / 'bin'
  bin_dir.mkdir()
  for name in ('gcloud', 'srun'):
    (bin_dir / name).write_text(FAKE)
    (bin_dir / name).chmod(0o755)
  log = tmp_path / 'calls.log'
  env = dict(os.environ, PATH=f'{bin_dir}:{os.environ["PATH"]}', FAKE_LOG=str(log))
  return env, log


def run(script, *args, env):
  return subprocess.run(['bash', str(ROOT / 'launch' / script), *args], env=env,
                        capture_output=True, text=True, check=False)


def test_tpu_lifecycle_issues_gcloud_commands_in_order(fake_env, tmp_path):
  env, log = fake_env
  for args in (['create', 'vm1', '--zone=us-central2-b', '--type=v4-32', '--spot'],
               ['setup', 'vm1', '--zone=us-central2-b'],
               ['run', 'vm1', '--zone=us-central2-b', '--', '--config=configs/quantity.py',
                '--workdir=gs://b/w'],
               ['pull', 'vm1', '--zone=us-central2-b', '--from=w', f'--to={tmp_path}/res'],
               ['delete', 'vm1', '--zone=us-central2-b']):
    assert run('tpu_vm.sh', *args, env=env).returncode == 0
  calls = log.read_text().splitlines()
  assert calls[0] == ('gcloud compute tpus tpu-vm create vm1 --zone=us-central2-b '
                      '--accelerator-type=v4-32 --version=tpu-ubuntu2204-base --spot')
  assert calls[1].startswith('gcloud compute tpus tpu-vm scp --recurse ')
  assert "pip install -q -e '.[tpu]'" in calls[2] and '--worker=all' in calls[2]
  assert 'python3 -m jaxrobust.main --config=configs/quantity.py --workdir=gs://b/w' in calls[3]
  assert calls[4].endswith('--worker=0') and 'vm1:w' in calls[4]
  assert calls[5] == 'gcloud compute tpus tpu-vm delete vm1 --zone=us-central2-b --quiet'


def test_tpu_queued_resource_create(fake_env):
  env, log = fake_env
  assert run('tpu_vm.sh', 'create', 'vm1', '--zone=z', '--queued', env=env).returncode == 0
  assert log.read_text().startswith('gcloud compute tpus queued-resources create vm1 --zone=z')


def test_fanout_runs_one_disjoint_slice_per_vm(fake_env):
  env, log = fake_env
  result = run('tpu_vm.sh', 'fanout', '--zone=z', '--config=configs/quantity.py',
               '--workdir=gs://b/w', 'vm1=pretrain-*', 'vm2=scratch-*', env=env)
  assert result.returncode == 0, result.stderr
  calls = sorted(log.read_text().splitlines())
  assert len(calls) == 2
  assert "vm1 --zone=z --worker=all" in calls[0] and "--only='pretrain-*'" in calls[0]
  assert "vm2 --zone=z --worker=all" in calls[1] and "--only='scratch-*'" in calls[1]


def test_tpu_script_rejects_bad_usage_with_a_hint(fake_env):
  env, _ = fake_env
  result = run('tpu_vm.sh', 'create', 'vm1', env=env)
  assert result.returncode == 2 and '--zone is required' in result.stderr
  result = run('tpu_vm.sh', 'explode', '--zone=z', env=env)
  assert result.returncode == 2 and 'create|setup|run|fanout|pull|delete' in result.stderr


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
    (tmp_path / 'bin' / name).write_text(FAKE)
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
