"""Bad input stops with a one-line message that says what to do."""
import jax
import numpy as np
import pytest

from tests.helpers.engine import cli_args, cli_env, tiny_config
from tests.helpers.forked_cli import run_main_many
from jaxrobust import errors
from jaxrobust import runs
from jaxrobust.study import stages
from jaxrobust.train import loop
from jaxrobust.train import checkpoint


def _one_line(error: pytest.ExceptionInfo) -> str:
  message = str(error.value)
  assert '\n' not in message
  return message


def test_unknown_config_field_is_named(data_dir, tmp_path):
  config = tiny_config(data_dir)
  config.optimizer.lr = 0.1
  with pytest.raises(errors.ConfigError) as error:
    stages.enter_run(config, tmp_path)
  message = _one_line(error)
  assert "'optimizer.lr'" in message and runs.DEFAULTS_FILE in message


def test_unknown_model_name_lists_the_valid_names(data_dir, tmp_path):
  with pytest.raises(errors.ConfigError) as error:
    stages.enter_run(tiny_config(data_dir, **{'model.name': 'resnet19'}), tmp_path)
  message = _one_line(error)
  assert 'resnet19' in message and 'resnet18' in message and 'config.model.name' in message


def test_dataset_not_built_names_the_command_that_builds_it(tmp_path):
  config = tiny_config(tmp_path / 'empty', **{'data.name': 'fractaldb/tiny',
                                              'data.auto_prepare': False})
  with pytest.raises(errors.DatasetNotBuiltError) as error:
    loop.train_and_evaluate(config, tmp_path / 'run')
  message = _one_line(error)
  assert 'python -m jaxrobust.datasets build fractaldb/tiny' in message
  assert 'python -m jaxrobust.study prepare' in message


def test_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(data_dir, tmp_path):
  # Warm-up keeps the first steps sane; then a learning rate of 1e30 overflows.
  config = tiny_config(data_dir, **{'optimizer.learning_rate': 1e30,
                                    'optimizer.warmup_steps': 20,
                                    'checkpoint_every_steps': 1})
  with pytest.raises(errors.NonFiniteLossError) as error:
    loop.train_and_evaluate(config, tmp_path)
  message = _one_line(error)
  assert 'NaN or inf' in message and 'config.optimizer.learning_rate' in message
  steps = sorted(int(p.name) for p in (tmp_path / 'checkpoints').iterdir() if p.name.isdigit())
  assert steps, 'no good checkpoint was kept'
  assert f'last good checkpoint: step {steps[-1]}' in message
  for step in steps:
    state = checkpoint.read_state(tmp_path / 'checkpoints' / str(step))
    assert all(np.isfinite(np.asarray(x)).all() for x in jax.tree.leaves(state['params']))


_CLI_MISTAKES = {
    'optimizer.lr=0.1': 'error: --config.optimizer.lr: no such field',
    'model.name=resnet19': "error: Unknown model 'resnet19' (config.model.name)",
}


@pytest.fixture(scope='module')
def cli_mistakes(data_dir, tmp_path_factory) -> dict:
  """{override: CompletedProcess} of the tiny run's CLI with each bad override."""
  workdir = tmp_path_factory.mktemp('cli_mistakes')
  results = run_main_many([cli_args(workdir, data_dir) + [f'--config.{override}']
                          for override in _CLI_MISTAKES], env=cli_env(1))
  return dict(zip(_CLI_MISTAKES, results))


@pytest.mark.slow
@pytest.mark.parametrize('override', sorted(_CLI_MISTAKES))
def test_cli_prints_bad_input_as_one_line_without_traceback(override, cli_mistakes):
  result = cli_mistakes[override]
  assert result.returncode == 1
  assert 'Traceback' not in result.stderr
  assert result.stderr.strip().splitlines()[-1].startswith(_CLI_MISTAKES[override])
