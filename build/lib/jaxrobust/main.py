"""Entry point: `python -m jaxrobust.main --config=configs/<file>.py[:arg] --workdir=DIR`.

A config with a `study` field runs the whole study (jaxrobust.study.run_study); any other
config is one training run into DIR/runs/<run_id>/ (jaxrobust.study.execute.run_single, which
adds result.json to finetune and scratch runs). `--dry_run` imports no flax, orbax or grain.
"""
import logging as pylogging
import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '1')  # before TensorFlow is imported

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

from jaxrobust import runs
from jaxrobust import study
from jaxrobust import xla_flags
from jaxrobust.errors import UserError
from jaxrobust.train import mesh

_CONFIG = config_flags.DEFINE_config_file(
    'config', None, 'Study or run config file (configs/*.py[:arg]).', lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', None, 'Directory for runs and results.')
_DRY_RUN = flags.DEFINE_bool('dry_run', False, 'Print what would run and stop.')
_ONLY = flags.DEFINE_string('only', None, 'Run only the study runs whose id matches this glob.')
flags.mark_flags_as_required(['config', 'workdir'])


def _run(config, workdir: str) -> None:
  workdir = str(runs.absolute_path(workdir))
  is_study = 'study' in config
  if not is_study:
    runs.check_run_config(config)  # fail fast, before the slow imports below
    if _DRY_RUN.value:
      print(f'run {runs.run_id(config.name, config)}: {config.model.name} on '
            f'{config.data.name} -> {workdir}/runs/{runs.run_id(config.name, config)}')
      return
  mesh.initialize_distributed()
  if is_study:
    study.run_study(config, workdir, dry_run=_DRY_RUN.value, only=_ONLY.value)
    return
  from jaxrobust.study import execute  # pylint: disable=g-import-not-at-top  (the engine)
  results = execute.run_single(config, workdir)
  for split, scores in results['scores'].items():
    print(f'{split}: accuracy {scores["accuracy"]:.4f}  macro-F1 {scores["macro_f1"]:.4f}  '
          f'({scores["num_examples"]} examples)')
  print(f'run directory: {results["run_dir"]}')


def _only_our_info(record: pylogging.LogRecord) -> bool:
  """Console filter: INFO lines from jaxrobust only, warnings and errors from everyone."""
  return (record.levelno >= pylogging.WARNING
          or f'{os.sep}jaxrobust{os.sep}' in record.pathname)


def _parse_flags(argv: list[str]) -> list[str]:
  """absl flag parsing, with a one-line error for a bad `--config.<field>` override."""
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    sys.exit(f'error: {e}')
  except (AttributeError, KeyError, TypeError, ValueError) as e:
    # ml_collections raises these when an override names no field or has the wrong type.
    key = str(e).strip('"\'')
    overrides = [a.split('=')[0] for a in argv[1:] if a.startswith('--config.')]
    culprit = next((o for o in overrides if o.endswith(f'.{key}')), None)
    if culprit is not None:
      sys.exit(f'error: {culprit}: the config has no field {key!r}; the fields of a run are '
               f'listed in {runs.DEFAULTS_FILE}.')
    sys.exit(f'error: bad --config override ({e}); the fields of a run are listed in '
             f'{runs.DEFAULTS_FILE}.')


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {" ".join(argv[1:])}')
  logging.get_absl_handler().addFilter(_only_our_info)
  xla_flags.use_tuned_cpu_flags()  # before JAX starts its backend
  try:
    _run(_CONFIG.value, _WORKDIR.value)
  except UserError as e:
    logging.flush()
    sys.exit(f'error: {e}')


if __name__ == '__main__':
  app.run(main, flags_parser=_parse_flags)
