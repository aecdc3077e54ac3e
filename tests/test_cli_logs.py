"""The console log filter: by default warnings only; under --verbosity=0 jaxrobust's own records
too, judged by module name."""
import logging as pylogging

from absl import logging
import pytest

from jaxrobust import cli


class _Kept(pylogging.Handler):

  def __init__(self):
    super().__init__()
    self.addFilter(cli._console_filter)  # pylint: disable=protected-access
    self.messages = []

  def emit(self, record):
    self.messages.append(record.getMessage())


@pytest.fixture(name='kept')
def _kept(monkeypatch):
  monkeypatch.setattr(cli.sys, 'argv', ['jaxrobust.main', '--verbosity=0'])
  handler = _Kept()
  root = pylogging.getLogger()
  root.addHandler(handler)
  logging.set_verbosity(logging.INFO)
  yield handler.messages
  root.removeHandler(handler)


def _log_from(module: str, source: str) -> None:
  """Runs `source` as code of the module named `module` (absl logs through one shared logger)."""
  exec(source, {'__name__': module, 'logging': logging})  # pylint: disable=exec-used


def test_absl_records_are_judged_by_the_calling_module(kept):
  _log_from('orbax.checkpoint.fake', "logging.info('orbax info')")
  _log_from('jaxrobust.study.fake', "logging.info('our info')")
  _log_from('orbax.checkpoint.fake', "logging.warning('orbax warning')")
  assert kept == ['our info', 'orbax warning']


def test_named_loggers_are_judged_by_their_name(kept, monkeypatch):
  for name in ('jax._src.xla_bridge', 'jaxrobust.fake'):
    monkeypatch.setattr(pylogging.getLogger(name), 'level', pylogging.INFO)
  pylogging.getLogger('jax._src.xla_bridge').info("Unable to initialize backend 'tpu'")
  pylogging.getLogger('jaxrobust.fake').info('ours')
  assert kept == ['ours']


def test_without_verbosity_only_warnings_show(kept, monkeypatch):
  monkeypatch.setattr(cli.sys, 'argv', ['jaxrobust.main'])
  _log_from('jaxrobust.train.fake', "logging.info('step 100/1000')")
  _log_from('jaxrobust.train.fake', "logging.warning('our warning')")
  _log_from('orbax.checkpoint.fake', "logging.info('orbax info')")
  assert kept == ['our warning']


def test_expected_library_warnings_are_hidden(kept):
  _log_from('tensorflow_datasets.core.fake', "logging.warning('Variant folder x has no info')")
  _log_from('tensorflow_datasets.core.fake', "logging.warning('Another warning')")
  assert kept == ['Another warning']
