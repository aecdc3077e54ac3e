"""A stand-in for a process that holds a workdir: `python -m tests.helpers.lock_holder DIR SECONDS`.

It takes DIR's lock, prints `held`, sleeps SECONDS and releases it on exit (a kill -9 leaves the
lock behind, as a crashed run would).
"""
import subprocess
import sys
import time

from jaxrobust.study import workdir_lock
from tests.helpers.configs import REPO


def start(workdir, seconds: float) -> subprocess.Popen:
  """Starts a holder of `workdir`'s lock and returns once it holds it."""
  process = subprocess.Popen([sys.executable, '-m', 'tests.helpers.lock_holder', str(workdir),
                              str(seconds)], cwd=REPO, stdout=subprocess.PIPE, text=True)
  assert process.stdout.readline().strip() == 'held'
  return process


def main(workdir: str, seconds: str) -> None:
  with workdir_lock.held(workdir):
    print('held', flush=True)
    time.sleep(float(seconds))


if __name__ == '__main__':
  main(*sys.argv[1:])
