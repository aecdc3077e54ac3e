"""Common command-line mistakes: one short `error:` line naming the flag or field, no traceback."""
import os
import subprocess
import sys

import pytest

from tests.helpers.configs import REPO

_STUDY = '--config=configs/quickstart.py:test'
# (arguments, text the error line must hold); `{tmp}` is a fresh temporary directory.
_CASES = {
    'config file missing': (['--config=configs/nope.py', '--workdir={tmp}/w'],
                            '--config=configs/nope.py: no such file'),
    'unknown config arg': (['--config=configs/quickstart.py:bogus', '--workdir={tmp}/w'],
                           "--config=configs/quickstart.py:bogus: Unknown config arg 'bogus'"),
    'workdir is a file': ([_STUDY, '--workdir={tmp}/file', '--dry_run'],
                          'file is a file; give a directory'),
    'workdir under a file': ([_STUDY, '--workdir={tmp}/file/w', '--dry_run'],
                             'lies under the file'),
    'misspelt run field': ([_STUDY, '--workdir={tmp}/w', '--dry_run',
                            '--config.pretrain.batchsize=4'],
                           '--config.pretrain.batchsize: no such field; did you mean batch_size?'),
    'run field given to the study': ([_STUDY, '--workdir={tmp}/w', '--dry_run',
                                      '--config.batchsize=4'],
                                     'did you mean pretrain.batch_size'),
    'unknown study field': ([_STUDY, '--workdir={tmp}/w', '--dry_run', '--config.zzz=4'],
                            'jaxrobust/configs/study_common.py:study_defaults()'),
    'missing workdir': ([_STUDY, '--dry_run'], '--workdir is required'),
    'only matches nothing': ([_STUDY, '--workdir={tmp}/w', '--dry_run', '--only=nothing*'],
                             '--only=nothing* matches no run id'),
    'stray argument': ([_STUDY, '--workdir={tmp}/w', '--dry_run', 'pretrain-*'],
                       'unexpected arguments pretrain-*'),
}


@pytest.mark.parametrize('case', sorted(_CASES))
def test_mistake_gives_one_short_error_line(case, tmp_path):
  (tmp_path / 'file').write_text('')
  args, expected = _CASES[case]
  proc = subprocess.run(
      [sys.executable, '-m', 'jaxrobust.main', *(a.format(tmp=tmp_path) for a in args)],
      cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True, text=True,
      timeout=120)
  lines = proc.stderr.strip().splitlines()
  assert proc.returncode != 0
  assert 'Traceback' not in proc.stderr
  assert 1 <= len(lines) <= 3, proc.stderr
  assert lines[-1].startswith('error: ') and expected in lines[-1], proc.stderr


def test_verbosity_shows_the_traceback(tmp_path):
  proc = subprocess.run(
      [sys.executable, '-m', 'jaxrobust.main', '--config=configs/quickstart.py:bogus',
       f'--workdir={tmp_path}', '--verbosity=0'],
      cwd=REPO, capture_output=True, text=True, timeout=120)
  assert proc.returncode != 0 and 'Traceback' in proc.stderr
