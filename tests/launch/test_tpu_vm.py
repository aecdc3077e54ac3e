"""launch/tpu_vm.sh against a recording fake gcloud: the exact command sequences per TPU
generation, the queued/spot lifecycle, and setup and detached runs on a simulated worker."""
import pathlib
import re
import socket
import subprocess
import time

import pytest

from tests.helpers.launch import reply, ROOT, run

ZONE = 'us-central2-b'
G = 'gcloud compute tpus'
SSH = f'--zone={ZONE} --quiet --strict-host-key-checking=no'
WORKER = 'bash jaxrobust/current/launch/tpu_worker.sh jaxrobust'


def calls(log: pathlib.Path) -> list[str]:
  """The recorded gcloud calls, times (release and run ids) and temporary paths replaced."""
  text = re.sub(r'\d{8}-\d{6}', 'TIME', log.read_text())
  return re.sub(r'\S*/jaxrobust-TIME\.tgz', 'TARBALL', text).splitlines()


def alive(pid: int) -> bool:
  """Whether process `pid` exists and is not a zombie."""
  try:
    return pathlib.Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[0] != 'Z'
  except FileNotFoundError:
    return False


@pytest.mark.parametrize('queued', ['', '--queued'])
@pytest.mark.parametrize('spot', ['', '--spot'])
@pytest.mark.parametrize('tpu_type,version', [
    ('v4-8', 'tpu-ubuntu2204-base'), ('v5litepod-16', 'v2-alpha-tpuv5-lite'),
    ('v5p-8', 'v2-alpha-tpuv5'), ('v6e-8', 'v2-alpha-tpuv6e')])
def test_lifecycle_commands_for_each_tpu_generation(tpu_type, version, spot, queued, fake_env):
  env, log = fake_env
  flags = [f for f in (spot, queued) if f]
  for args in (['create', 'vm1', f'--type={tpu_type}', *flags],
               ['setup', 'vm1'],
               ['run', 'vm1', '--', '--config=configs/quantity.py', '--workdir=gs://b/w'],
               ['fanout', '--config=configs/quantity.py', '--workdir=gs://b/w', 'vm1=pre*'],
               ['delete', 'vm1', *([queued] if queued else [])]):
    result = run('tpu_vm.sh', args[0], f'--zone={ZONE}', *args[1:], env=env)
    assert result.returncode == 0, result.stderr
  spot_flag = ' --spot' if spot else ''
  if queued:
    create = [f'{G} queued-resources create vm1 --zone={ZONE} --node-id=vm1 '
              f'--accelerator-type={tpu_type} --runtime-version={version}{spot_flag} --quiet',
              f'{G} queued-resources describe vm1 --zone={ZONE} --format=value(state.state)']
    delete = [f'{G} queued-resources delete vm1 --zone={ZONE} --force --quiet']
  else:
    create = [f'{G} tpu-vm create vm1 --zone={ZONE} --accelerator-type={tpu_type} '
              f'--version={version}{spot_flag} --quiet']
    delete = [f'{G} tpu-vm delete vm1 --zone={ZONE} --quiet']
  release = 'jaxrobust/releases/TIME'
  assert calls(log) == [
      *create,
      f'{G} tpu-vm scp TARBALL vm1: --worker=all {SSH}',
      f'{G} tpu-vm ssh vm1 --worker=all {SSH} --command=mkdir -p {release} && '
      f'tar -xzf jaxrobust-TIME.tgz -C {release} && rm jaxrobust-TIME.tgz && '
      f'bash {release}/launch/tpu_worker.sh jaxrobust setup TIME 3.11',
      f'{G} tpu-vm ssh vm1 --worker=all {SSH} --command={WORKER} start TIME '
      '--config=configs/quantity.py --workdir=gs://b/w',
      f'{G} tpu-vm ssh vm1 --worker=all {SSH} --command={WORKER} start TIME '
      r'--config=configs/quantity.py --workdir=gs://b/w --only=pre\*',
      *delete]


def test_version_option_overrides_the_generations_default(fake_env):
  env, log = fake_env
  result = run('tpu_vm.sh', 'create', 'vm1', '--zone=z', '--type=v6e-8',
               '--version=v2-alpha-tpuv6e-custom', env=env)
  assert result.returncode == 0, result.stderr
  assert '--version=v2-alpha-tpuv6e-custom' in calls(log)[0]
  result = run('tpu_vm.sh', 'create', 'vm1', '--zone=z', '--type=v3-8', env=env)
  assert result.returncode == 2 and 'pass --version=V' in result.stderr


def test_a_failed_queued_request_is_deleted_and_requested_again(fake_env):
  env, log = fake_env
  reply(env, 'queued-resources-describe', 'WAITING_FOR_RESOURCES', 'FAILED', 'fail', 'ACTIVE')
  result = run('tpu_vm.sh', 'create', 'vm1', '--zone=z', '--type=v5p-8', '--queued', '--spot',
               env=env)
  assert result.returncode == 0, result.stderr
  verbs = [' '.join(c.split()[3:5]) for c in calls(log)]
  assert verbs == ['queued-resources create', 'queued-resources describe',
                   'queued-resources describe', 'queued-resources delete',
                   'queued-resources create', 'queued-resources describe',
                   'queued-resources describe']
  assert calls(log)[3] == f'{G} queued-resources delete vm1 --zone=z --force --quiet'


def test_spot_creation_is_retried_then_given_up(fake_env):
  env, log = fake_env
  reply(env, 'tpu-vm-create', 'fail', 'fail', 'fail')
  result = run('tpu_vm.sh', 'create', 'vm1', '--zone=z', '--type=v4-8', '--spot',
               '--retries=2', env=env)
  assert result.returncode == 2 and 'not created after 3 tries' in result.stderr
  assert len(calls(log)) == 3
  reply(env, 'tpu-vm-create', 'fail')
  result = run('tpu_vm.sh', 'create', 'vm1', '--zone=z', '--type=v4-8', '--spot', env=env)
  assert result.returncode == 0, result.stderr
  assert len(calls(log)) == 5


@pytest.mark.parametrize('queued', [False, True])
def test_watch_recreates_a_preempted_vm_and_starts_the_run_again(queued, fake_env):
  env, log = fake_env
  if queued:
    reply(env, 'queued-resources-describe', 'ACTIVE', 'SUSPENDED', 'ACTIVE', 'ACTIVE')
  else:
    reply(env, 'tpu-vm-describe', 'READY', 'PREEMPTED', 'READY')
  reply(env, 'tpu-vm-ssh', 'w0 started;w1 started', 'w0 running;w1 running', 'set up',
        'w0 started;w1 started', 'w0 exit 0;w1 exit 0')
  result = run('tpu_vm.sh', 'run', 'vm1', '--zone=z', '--type=v5litepod-16', '--spot', '--watch',
               *(['--queued'] if queued else []), '--', '--config=c.py', env=env)
  assert result.returncode == 0, result.stderr
  assert 'preempted; recreating it (restart 1 of 3)' in result.stderr
  group = 'queued-resources' if queued else 'tpu-vm'
  recreate = ([f'{group} delete', f'{group} create', f'{group} describe'] if queued else
              [f'{group} delete', f'{group} create'])
  verbs = [' '.join(c.split()[3:5]) for c in calls(log)]
  assert verbs == ['tpu-vm ssh', f'{group} describe', 'tpu-vm ssh', f'{group} describe',
                   *recreate, 'tpu-vm scp', 'tpu-vm ssh', 'tpu-vm ssh', f'{group} describe',
                   'tpu-vm ssh']
  create = next(c for c in calls(log) if f'{group} create' in c)
  assert '--accelerator-type=v5litepod-16' in create and '--spot' in create
  assert 'v2-alpha-tpuv5-lite' in create


def test_watch_restarts_a_run_killed_by_a_preemption_before_the_vm_says_so(fake_env):
  env, log = fake_env
  reply(env, 'tpu-vm-describe', 'READY', 'PREEMPTED', 'PREEMPTED', 'READY')
  reply(env, 'tpu-vm-ssh', 'w0 started', 'w0 exit 143', 'set up', 'w0 started', 'w0 exit 0')
  result = run('tpu_vm.sh', 'run', 'vm1', '--zone=z', '--type=v6e-8', '--spot', '--watch', '--',
               '--config=c.py', env=env)
  assert result.returncode == 0, result.stderr
  verbs = [' '.join(c.split()[3:5]) for c in calls(log)]
  assert verbs.count('tpu-vm create') == 1 and verbs[-1] == 'tpu-vm ssh'


def test_watch_reports_a_failed_worker(fake_env):
  env, _ = fake_env
  reply(env, 'tpu-vm-ssh', 'w0 started', 'w0 exit 0;w1 exit 3')
  result = run('tpu_vm.sh', 'run', 'vm1', '--zone=z', '--type=v4-16', '--watch', '--',
               '--config=c.py', env=env)
  assert result.returncode == 1 and 'w1 exit 3' in result.stderr


def test_internal_ip_reaches_every_ssh_and_scp(fake_env):
  env, log = fake_env
  for args in (['setup', 'vm1'], ['logs', 'vm1', '--lines=5'],
               ['pull', 'vm1', '--from=w', f'--to={env["FAKE_DIR"]}/res']):
    assert run('tpu_vm.sh', *args, '--zone=z', '--internal-ip', env=env).returncode == 0
  assert all('--internal-ip' in c for c in calls(log))
  assert f'{WORKER} logs 5' in calls(log)[2]
  assert calls(log)[3].startswith(f'{G} tpu-vm scp --recurse vm1:w ')


def test_setup_then_a_detached_run_on_a_simulated_worker(fake_env, tmp_path):
  """The worker side for real: the tarball, the uv venv, the run's arguments, log and exit."""
  env, log = fake_env
  home = tmp_path / 'home'
  home.mkdir()
  env['FAKE_HOME'] = str(home)
  result = run('tpu_vm.sh', 'setup', 'vm1', '--zone=z', env=env)
  assert result.returncode == 0, result.stderr
  root = home / 'jaxrobust'
  (release,) = (root / 'releases').iterdir()
  assert (root / 'current').resolve() == release
  assert (release / 'launch' / 'tpu_worker.sh').exists() and (release / 'pyproject.toml').exists()
  shipped = {str(p.relative_to(release)) for p in release.rglob('*') if p.is_file()}
  tracked = subprocess.run(['git', 'ls-files'], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
  assert {f for f in tracked if (ROOT / f).is_file()} <= shipped  # every source file
  assert not {p.split('/')[0] for p in shipped} & {'.git', '.venv', 'workdir', 'data'}
  assert not list(release.rglob('__pycache__'))
  assert not list(home.glob('*.tgz'))  # unpacked and removed
  venv = root / 'venv-3.11'
  assert f'uv venv -q --python 3.11 {venv}' in log.read_text()
  assert f'uv pip install -q --python {venv}/bin/python -e {release}[tpu]' in log.read_text()

  args = ['--config=configs/quantity.py', '--workdir=gs://b/w', '--only=pretrain-*',
          '--note=two words', "it's"]
  result = run('tpu_vm.sh', 'run', 'vm1', '--zone=z', '--type=v4-8', '--watch', '--', *args,
               env=env)
  assert result.returncode == 0, result.stderr
  text = log.read_text()
  assert f'python JAXROBUST_MULTIHOST=1 cwd={root}/current pid=' in text
  assert [line[4:] for line in text.splitlines() if line.startswith('arg ')] == [
      '-m', 'jaxrobust.main', *args]
  assert 'sudo rm -f /tmp/libtpu_lockfile' in text  # cleaned before the run
  (exit_file,) = (root / 'logs').glob('*.exit')
  assert exit_file.read_text().strip() == '0'

  result = run('tpu_vm.sh', 'logs', 'vm1', '--zone=z', env=env)
  assert result.returncode == 0, result.stderr
  assert result.stdout.strip() == f'{socket.gethostname()}: training step 1'

  env['FAKE_EXIT'] = '7'
  result = run('tpu_vm.sh', 'run', 'vm1', '--zone=z', '--type=v4-8', '--watch', '--',
               '--config=c.py', env=env)
  assert result.returncode == 1 and 'exit 7' in result.stderr


def test_a_new_run_first_ends_the_one_still_running(fake_env, tmp_path):
  env, log = fake_env
  env['FAKE_HOME'] = str(tmp_path)
  assert run('tpu_vm.sh', 'setup', 'vm1', '--zone=z', env=env).returncode == 0
  result = run('tpu_vm.sh', 'run', 'vm1', '--zone=z', '--', '--config=c.py',
               env=dict(env, FAKE_SLEEP='600'))
  assert result.returncode == 0, result.stderr  # returns at once: the run is detached
  deadline = time.time() + 30
  while 'pid=' not in log.read_text() and time.time() < deadline:
    time.sleep(0.05)
  first = int(re.search(r'pid=(\d+)', log.read_text()).group(1))
  assert alive(first)
  result = run('tpu_vm.sh', 'run', 'vm1', '--zone=z', '--watch', '--type=v4-8', '--',
               '--config=c.py', env=env)
  assert result.returncode == 0, result.stderr
  assert not alive(first)


def test_a_second_setup_makes_the_new_code_current(fake_env, tmp_path):
  env, _ = fake_env
  env['FAKE_HOME'] = str(tmp_path)
  root = tmp_path / 'jaxrobust'
  olds = ['20000101-000000', '20000102-000000', '20000103-000000']
  for old in olds:
    (root / 'releases' / old).mkdir(parents=True)
  (root / 'current').symlink_to(f'releases/{olds[-1]}')
  assert run('tpu_vm.sh', 'setup', 'vm1', '--zone=z', env=env).returncode == 0
  assert (root / 'current').resolve().name not in olds
  assert (root / 'current' / 'launch' / 'tpu_vm.sh').exists()
  kept = sorted(p.name for p in (root / 'releases').iterdir())  # the newest three
  assert kept == [*olds[1:], (root / 'current').resolve().name]


def test_tpu_script_rejects_bad_usage_with_a_hint(fake_env):
  env, _ = fake_env
  result = run('tpu_vm.sh', 'create', 'vm1', env=env)
  assert result.returncode == 2 and '--zone is required' in result.stderr
  result = run('tpu_vm.sh', 'create', 'vm1', '--zone=z', env=env)
  assert result.returncode == 2 and 'create needs --type' in result.stderr
  result = run('tpu_vm.sh', 'run', 'vm1', '--zone=z', '--watch', '--', '--config=c', env=env)
  assert result.returncode == 2 and 'run --watch needs --type' in result.stderr
  result = run('tpu_vm.sh', 'explode', '--zone=z', env=env)
  assert result.returncode == 2 and 'create|setup|run|logs|fanout|pull|delete' in result.stderr
