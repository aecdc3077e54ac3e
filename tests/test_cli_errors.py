"""Common command-line mistakes: one short `error:` line naming the flag or field, no traceback.

Every mistake is a separate `python -m jaxrobust.main` run, forked from one process that paid
the imports once (tests/helpers/forked_cli.py).
"""
import pytest

from tests.helpers.forked_cli import run_main_many

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
                            'jaxrobust/study/recipes.py:study_defaults()'),
    'missing workdir': ([_STUDY, '--dry_run'], '--workdir is required'),
    'only matches nothing': ([_STUDY, '--workdir={tmp}/w', '--dry_run', '--only=nothing*'],
                             '--only=nothing* matches no run id'),
    'stray argument': ([_STUDY, '--workdir={tmp}/w', '--dry_run', 'pretrain-*'],
                       'unexpected arguments pretrain-*'),
    # Out-of-range values and a data dir that is a file, before anything is written (`never`).
    'negative learning rate': (['--config=configs/train.py:tiny', '--workdir={tmp}/never',
                                '--config.optimizer.learning_rate=-0.1'],
                               'config.optimizer.learning_rate=-0.1: it must be a positive'),
    'image size 0': (['--config=configs/train.py:tiny', '--workdir={tmp}/never',
                      '--config.data.image_size=0'], 'config.data.image_size=0: it must be'),
    'data dir is a file': (['--config=configs/train.py:tiny', '--workdir={tmp}/never',
                            '--config.data.data_dir={tmp}/file'],
                           'config.data.data_dir={tmp}/file is a file'),
    'negative warm-up': (['--config=configs/train.py:tiny', '--workdir={tmp}/never',
                          '--config.optimizer.warmup_steps=-1'],
                         'config.optimizer.warmup_steps=-1: it must be a number of steps >= 0'),
    'study run with a negative learning rate': (
        [_STUDY, '--workdir={tmp}/never', '--config.pretrain.optimizer.learning_rate=-0.1'],
        '(pretrain run): config.optimizer.learning_rate=-0.1'),
    'study data dir is a file': ([_STUDY, '--workdir={tmp}/never',
                                  '--config.data_dir={tmp}/file'], '{tmp}/file (config.data_dir'),
}
_VERBOSE = ['--config=configs/quickstart.py:bogus', '--workdir={tmp}/w', '--verbosity=0']
# A relative workdir that does not exist yet, nor its parent (the forked runs start in the repo).
_RELATIVE = [_STUDY, '--workdir=workdir/not-yet/relative', '--dry_run']


@pytest.fixture(scope='module')
def outcomes(tmp_path_factory) -> dict:
  """{case: CompletedProcess} of every mistake, and of 'verbose' (the bad arg, --verbosity=0)."""
  tmp = tmp_path_factory.mktemp('cli')
  (tmp / 'file').write_text('')
  cases = {**{name: args for name, (args, _) in _CASES.items()}, 'verbose': _VERBOSE,
           'relative': _RELATIVE}
  results = run_main_many([[a.format(tmp=tmp) for a in args] for args in cases.values()])
  return {'tmp': tmp, **dict(zip(cases, results))}


@pytest.mark.parametrize('case', sorted(_CASES))
def test_mistake_gives_one_short_error_line(case, outcomes):
  proc, expected = outcomes[case], _CASES[case][1].format(tmp=outcomes['tmp'])
  lines = proc.stderr.strip().splitlines()
  assert proc.returncode != 0
  assert 'Traceback' not in proc.stderr
  assert 1 <= len(lines) <= 3, proc.stderr
  assert lines[-1].startswith('error: ') and expected in lines[-1], proc.stderr


def test_a_relative_workdir_that_does_not_exist_yet_is_accepted(outcomes):
  result = outcomes['relative']
  assert result.returncode == 0, result.stderr[-2000:]
  assert "Study 'quickstart'" in result.stdout and '/workdir/not-yet/relative' in result.stdout


def test_verbosity_shows_the_traceback(outcomes):
  proc = outcomes['verbose']
  assert proc.returncode != 0 and 'Traceback' in proc.stderr


def test_a_refused_config_writes_nothing(outcomes):
  assert not (outcomes['tmp'] / 'never').exists()
