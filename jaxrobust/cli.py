"""What the command-line entry points share: quiet library logs and one-line errors.

Entry points import this module first: it hides TensorFlow's and XLA's C++ INFO chatter (the
oneDNN notice, the `absl::InitializeLog()` banner) before either library starts. By default the
console shows what the commands print (a study: one line per run and its progress) and every
warning; `--verbosity=0` adds jaxrobust's own log lines (each logged step and evaluation);
`--verbosity=1` shows every library's records too, and the traceback behind an error.
"""
from collections.abc import Iterator, Sequence
import contextlib
import difflib
import logging as pylogging
import os
import re
import sys
from typing import Any

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '1')  # before TensorFlow or XLA log anything
# TensorFlow only writes TensorBoard events here (clu's writer); its oneDNN kernels never run,
# and turning them off also spares the notice it logs at import.
os.environ.setdefault('TF_ENABLE_ONEDNN_OPTS', '0')
if not sys.stderr.isatty():  # a log file: a progress bar (tqdm) line every 30 s, not 10 a second
  os.environ.setdefault('TQDM_MININTERVAL', '30')

from absl import flags  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import logging  # pylint: disable=g-import-not-at-top,wrong-import-position
from ml_collections.config_flags import config_flags  # pylint: disable=g-import-not-at-top,wrong-import-position

from jaxrobust import errors  # pylint: disable=g-import-not-at-top,wrong-import-position
from jaxrobust import runs  # pylint: disable=g-import-not-at-top,wrong-import-position

_OUR_MODULES = ('jaxrobust', '__main__')
_LOGGING_MODULES = ('logging', 'absl.logging', __name__)
# Library warnings about states jaxrobust creates on purpose: (module prefix, message start).
_EXPECTED_WARNINGS = (
    ('orbax', 'CheckpointManagerOptions.read_only=True'),  # pre-training checkpoints, read-only
    ('orbax', 'Given directory is read only'),
    ('tensorflow_datasets', 'Variant folder'),  # a dataset about to be generated has no files yet
    ('tensorflow_datasets', 'Using custom data configuration'),  # every subset is one
)
# Library records about a failed checkpoint save, which the engine reports in its own error line
# (jaxrobust.train.checkpoint.Saver): (module prefix, text in the message).
_REPORTED_BY_THE_ENGINE = (
    ('orbax', '_SignalingThread.run() raised an exception'),
    ('orbax', 'Handler Commit operations'),
    ('orbax', 'Save Finalize thread'),
    ('orbax', 'Failed to write metadata'),
    ('asyncio', 'coro=<async_serialize_from_host'),
)
_CONFIG_FLAG = 'config'
_STUDY_FIELDS_FILE = 'jaxrobust/study/recipes.py'


def verbosity_given(argv: Sequence[str] | None = None) -> bool:
  """Whether the command line sets --verbosity (or -v)."""
  return any(re.match(r'^--?(verbosity|v)(=|$)', a) for a in (argv or sys.argv)[1:])


def _debugging() -> bool:
  """--verbosity=1 or more: every record, and tracebacks behind errors."""
  return verbosity_given() and logging.get_verbosity() >= 1


def _module_of(record: pylogging.LogRecord) -> str:
  """The module that logged `record`: its logger's name, or the caller of absl's shared logger."""
  if record.name != 'absl':
    return record.name
  frame = sys._getframe(1)  # pylint: disable=protected-access  (filters run inside the log call)
  while frame is not None:
    module = frame.f_globals.get('__name__', '')
    if module.split('.')[0] != 'logging' and not module.startswith(_LOGGING_MODULES):
      return module
    frame = frame.f_back
  return ''


def _console_filter(record: pylogging.LogRecord) -> bool:
  """Warnings except the expected ones, and our own records under --verbosity=0."""
  module = _module_of(record)
  if module.split('.')[0] in _OUR_MODULES and (record.levelno >= pylogging.WARNING
                                              or verbosity_given()):
    return True
  if record.levelno < pylogging.WARNING:
    return False
  message = record.getMessage()
  return not (any(module.startswith(prefix) and message.startswith(start)
                  for prefix, start in _EXPECTED_WARNINGS)
              or any(module.startswith(prefix) and text in message
                     for prefix, text in _REPORTED_BY_THE_ENGINE))


def quiet_libraries() -> None:
  """Below --verbosity=1, records under WARNING stay off the console (ours show at 0)."""
  if not _debugging():
    logging.get_absl_handler().addFilter(_console_filter)


def worker_logging() -> None:
  """jaxrobust.main's console logging in a process that absl.app did not start (a Ray worker)."""
  logging.use_absl_handler()
  logging.set_verbosity(logging.INFO)  # absl's default --verbosity
  quiet_libraries()


@contextlib.contextmanager
def one_line_errors() -> Iterator[None]:
  """Turns a UserError into `error: <message>` and exit status 1 (a traceback with --verbosity)."""
  try:
    yield
  except errors.UserError as e:
    if _debugging():
      raise
    logging.flush()
    sys.exit(f'error: {e}')


def _config_arg(argv: Sequence[str]) -> str | None:
  """The value of --config in `argv` (`--config=X` or `--config X`)."""
  for i, arg in enumerate(argv):
    if arg.startswith(f'--{_CONFIG_FLAG}='):
      return arg.split('=', 1)[1]
    if arg == f'--{_CONFIG_FLAG}' and i + 1 < len(argv):
      return argv[i + 1]
  return None


def _missing_config_file(path: str) -> str:
  configs = sorted(n for n in os.listdir('configs') if n.endswith('.py')) if os.path.isdir(
      'configs') else []
  hint = f' (configs/ holds {", ".join(configs)})' if configs else ''
  return f'--config={path}: no such file{hint}; give the path of a config file.'


def _unknown_field(config: Any, override: str) -> str | None:
  """`--config.a.b: no such field ...` for the first part of `a.b` the config lacks, else None."""
  node = config
  parts = override.split('.')
  for i, part in enumerate(parts):
    if not hasattr(node, 'keys') or part not in node:
      break
    node = node[part]
  else:
    return None
  where = '.'.join(parts[:i + 1])
  if not hasattr(node, 'keys'):
    return f'--config.{override}: config.{".".join(parts[:i])} is a value, not a group of fields.'
  close = difflib.get_close_matches(part, list(node.keys()), n=1)
  if close:
    return f'--config.{where}: no such field; did you mean {close[0]}?'
  if i > 0 or 'study' not in config:
    return f'--config.{where}: no such field; the fields are listed in {runs.DEFAULTS_FILE}.'
  close = difflib.get_close_matches(part, list(config.pretrain.keys()), n=1)
  if close:  # a run field given to the study: it belongs to a run template
    return (f'--config.{where}: no such field of the study; did you mean pretrain.{close[0]} '
            '(or finetune., scratch.)?')
  return (f'--config.{where}: no such field; the fields are listed in '
          f'{_STUDY_FIELDS_FILE}:study_defaults().')


def _override_error(argv: Sequence[str], config_arg: str) -> str | None:
  """Names the first `--config.<field>` override whose field the config lacks."""
  try:
    config = config_flags.ConfigFileFlagParser(_CONFIG_FLAG).parse(config_arg)
  except Exception:  # pylint: disable=broad-except  (the config itself is broken: not our case)
    return None
  for arg in argv:
    if arg.startswith(f'--{_CONFIG_FLAG}.'):
      message = _unknown_field(config, arg.split('=', 1)[0][len(_CONFIG_FLAG) + 3:])
      if message:
        return message
  return None


def _flag_error(e: flags.Error) -> str:
  """absl's message, with the last line of an embedded traceback instead of the traceback."""
  text = str(e)
  required = re.search(r'Flag (--\w+) must have a value other than None', text)
  if required:
    return f'{required.group(1)} is required; --helpshort lists the flags.'
  if 'Traceback (most recent call last)' not in text:
    return text.removeprefix('flag ')
  flag = text.split(': ', 1)[0].removeprefix('flag ')  # '--config=configs/x.py:arg'
  last = [line for line in text.splitlines() if line.strip()][-1]  # 'ValueError: <message>'
  return f'{flag}: {last.split(": ", 1)[-1]}'


def parse_flags(argv: list[str]) -> list[str]:
  """absl flag parsing where a bad --config file, arg or override is one line, not a traceback."""
  verbose = verbosity_given(argv)
  config_arg = _config_arg(argv[1:])
  if config_arg is not None and not os.path.isfile(config_arg.split(':', 1)[0]) and not verbose:
    sys.exit(f'error: {_missing_config_file(config_arg.split(":", 1)[0])}')
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    if verbose:
      raise
    sys.exit(f'error: {_flag_error(e)}')
  except errors.UserError as e:  # raised by the config file's get_config
    if verbose:
      raise
    sys.exit(f'error: --config={config_arg}: {e}')
  except (AttributeError, KeyError, TypeError, ValueError) as e:
    # ml_collections raises these when an override names no field or has the wrong type.
    if verbose:
      raise
    message = _override_error(argv, config_arg) if config_arg else None
    sys.exit(f'error: {message or " ".join(str(e).split())}')
