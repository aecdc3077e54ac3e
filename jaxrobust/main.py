"""Entry point: `python -m jaxrobust.main --config=configs/<file>.py[:arg] --workdir=DIR`.

A config with a `study` field runs the whole study (jaxrobust.study.run_study; with
`--executor=ray` every run is a Ray task, jaxrobust.study.ray_executor); any other
config is one training run into DIR/runs/<run_id>/ (jaxrobust.study.stages.execute_single, which
adds result.json to finetune and scratch runs). `--dry_run` imports no flax, orbax or grain.
Console logs and one-line errors: jaxrobust.cli.
"""
import os

from jaxrobust import cli  # first: it quiets TensorFlow's and XLA's C++ logs before they load

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-order
from absl import flags  # pylint: disable=g-import-not-at-top,wrong-import-order
from ml_collections import config_flags  # pylint: disable=g-import-not-at-top,wrong-import-order

from jaxrobust import runs  # pylint: disable=g-import-not-at-top
from jaxrobust import study  # pylint: disable=g-import-not-at-top
from jaxrobust import user_modules  # pylint: disable=g-import-not-at-top
from jaxrobust.study import stages  # pylint: disable=g-import-not-at-top
from jaxrobust import xla_flags  # pylint: disable=g-import-not-at-top
from jaxrobust.errors import UserError  # pylint: disable=g-import-not-at-top
from jaxrobust.train import mesh  # pylint: disable=g-import-not-at-top

_CONFIG = config_flags.DEFINE_config_file(
    'config', None, 'Study or run config file (configs/*.py[:arg]).', lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', None, 'Directory for runs and results.')
_DRY_RUN = flags.DEFINE_bool('dry_run', False, 'Print what would run and stop.')
_ONLY = flags.DEFINE_string('only', None, 'Run only the study runs whose id matches this glob.')
_EXECUTOR = flags.DEFINE_enum('executor', 'local', study.EXECUTORS,
                              'local: one run after another here; ray: one Ray task per run.')
_RAY_ADDRESS = flags.DEFINE_string(
    'ray_address', None, 'With --executor=ray: auto, or HOST:PORT of the head node (default: '
    'start a local Ray cluster).')
_WAIT = flags.DEFINE_bool(
    'wait', False, 'When another process holds the workdir, wait for it to finish, then '
    'continue (finished runs are skipped); without it the command stops at once.')
flags.mark_flags_as_required(['config', 'workdir'])


def _check_workdir(workdir: str) -> None:
  """Refuses a --workdir that is a file or lies under one (local paths; URLs are not checked)."""
  if '://' in workdir:
    return
  path = os.path.abspath(workdir)
  while not os.path.exists(path):  # the nearest existing folder above it
    path = os.path.dirname(path)
  if not os.path.isdir(path):
    what = ('is a file' if path == os.path.abspath(workdir)
            else f'lies under the file {path}')
    raise UserError(f'--workdir={workdir} {what}; give a directory (it is created if missing).')
  if not os.access(path, os.W_OK):
    raise UserError(f'--workdir={workdir}: {path} is not writable; give a directory you can '
                    'write to.')


def _run(config, workdir: str) -> None:
  _check_workdir(workdir)
  is_study = 'study' in config
  if not is_study and _DRY_RUN.value:
    runs.check_run_config(config)
    print(f'run {runs.run_id(config.name, config)}: {config.model.name} on '
          f'{config.data.name} -> {workdir}/runs/{runs.run_id(config.name, config)}')
    return
  if not is_study and (_EXECUTOR.value != 'local' or _RAY_ADDRESS.value):
    raise UserError('--executor=ray and --ray_address run studies; this config is one run '
                    '(drop them: it runs here).')
  if _EXECUTOR.value == 'local':  # a Ray driver joins no jax.distributed job: its tasks train
    mesh.initialize_distributed()
  if is_study:
    study.run_study(config, workdir, dry_run=_DRY_RUN.value, only=_ONLY.value,
                    executor=_EXECUTOR.value, ray_address=_RAY_ADDRESS.value, wait=_WAIT.value)
    return
  result = stages.execute_single(config, workdir, wait=_WAIT.value)
  for split, scores in result.scores.items():
    print(f'{split}: accuracy {scores["accuracy"]:.4f}  macro-F1 {scores["macro_f1"]:.4f}  '
          f'({scores["num_examples"]} examples)')
  print(f'run directory: {result.run_dir}')


def main(argv: list[str]) -> None:
  cli.quiet_libraries()
  xla_flags.use_tuned_cpu_flags()  # before JAX starts its backend
  with cli.one_line_errors():
    if len(argv) > 1:
      raise UserError(f'unexpected arguments {" ".join(argv[1:])}; flags are --name=value '
                      '(quote a --only glob).')
    user_modules.load(_CONFIG.value.get('imports'))  # the user's datasets, before any is read
    _run(_CONFIG.value, _WORKDIR.value)


if __name__ == '__main__':
  app.run(main, flags_parser=cli.parse_flags)
