"""Many `python -m jaxrobust.main ARGS` (or `jaxrobust.datasets`) runs for one interpreter start-up.

`run_main_many` starts one process (`python -m tests.helpers.forked_cli MODULE`) that imports
the entry point and what it imports (JAX, TFDS, the study package: most of a CLI run's
seconds), then forks one child per argument list. A child parses its own flags and has its own
stdout, stderr and exit status; the parent never parses flags nor starts a JAX backend, so each
child sees what a fresh `python -m MODULE ARGS` sees, minus the import time. Both entry points
run `app.run(main, flags_parser=cli.parse_flags)`, as the child does.
"""
import importlib
import json
import os
import subprocess
import sys
import tempfile
import traceback

from tests.helpers.configs import REPO


# `python -m NAME` -> the module whose `main` it runs.
ENTRY_POINTS = {'jaxrobust.main': 'jaxrobust.main',
                'jaxrobust.datasets': 'jaxrobust.datasets.__main__',
                'jaxrobust.study': 'jaxrobust.study.__main__'}


def run_main_many(arg_lists: list[list[str]], *, module: str = 'jaxrobust.main',
                  env: dict[str, str] | None = None, timeout: float = 300
                  ) -> list[subprocess.CompletedProcess]:
  """One CompletedProcess (returncode, stdout, stderr) per `python -m MODULE ARGS`."""
  env = dict(os.environ if env is None else env)
  env['PYTHONPATH'] = os.pathsep.join(filter(None, [str(REPO), env.get('PYTHONPATH')]))
  driver = subprocess.run([sys.executable, '-m', 'tests.helpers.forked_cli', module], cwd=REPO,
                          env=env, input=json.dumps(arg_lists), capture_output=True, text=True,
                          timeout=timeout, check=False)
  assert driver.returncode == 0, driver.stderr[-3000:]
  return [subprocess.CompletedProcess([module, *args], r['returncode'], r['stdout'],
                                      r['stderr'])
          for args, r in zip(arg_lists, json.loads(driver.stdout))]


def _exit_status(error: SystemExit) -> int:
  """What the interpreter makes of an uncaught SystemExit (a message goes to stderr, status 1)."""
  if error.code is None or isinstance(error.code, int):
    return error.code or 0
  print(error.code, file=sys.stderr)
  return 1


def _child(entry, args: list[str], out: str, err: str) -> None:
  """Runs `entry.main` as `python -m` would, then exits; never returns."""
  from absl import app  # pylint: disable=g-import-not-at-top
  from jaxrobust import cli  # pylint: disable=g-import-not-at-top
  status = 1
  try:
    with open(out, 'w') as stdout, open(err, 'w') as stderr:
      os.dup2(stdout.fileno(), 1)
      os.dup2(stderr.fileno(), 2)
    sys.argv = [entry.__file__, *args]
    try:
      app.run(entry.main, flags_parser=cli.parse_flags)
      status = 0
    except SystemExit as e:
      status = _exit_status(e)
    except BaseException:  # pylint: disable=broad-exception-caught  (the interpreter's report)
      traceback.print_exc()
  finally:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # pylint: disable=protected-access


def _main(module: str) -> None:
  entry = importlib.import_module(ENTRY_POINTS[module])
  results = []
  with tempfile.TemporaryDirectory() as tmp:
    for i, args in enumerate(json.load(sys.stdin)):
      out, err = os.path.join(tmp, f'{i}.out'), os.path.join(tmp, f'{i}.err')
      sys.stdout.flush()
      sys.stderr.flush()
      pid = os.fork()
      if pid == 0:
        _child(entry, args, out, err)
      _, status = os.waitpid(pid, 0)
      with open(out) as stdout, open(err) as stderr:
        results.append({'returncode': os.waitstatus_to_exitcode(status),
                        'stdout': stdout.read(), 'stderr': stderr.read()})
  print(json.dumps(results))


if __name__ == '__main__':
  _main(sys.argv[1])
