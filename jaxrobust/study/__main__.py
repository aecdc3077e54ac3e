"""Study commands besides running one (`python -m jaxrobust.main` runs a study).

  python -m jaxrobust.study prepare --config=configs/<study>.py[:arg] --workdir=W [--manual_dir=M]
      builds every dataset the study reads into its data dir (<W>/data unless config.data_dir
      or TFDS_DATA_DIR is set; --data_dir=DIR instead of --workdir names it), on a cheap
      machine before accelerator time.
"""
from collections.abc import Sequence

from jaxrobust import cli  # first: it quiets TensorFlow's and XLA's C++ logs before they load

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-order
from absl import flags  # pylint: disable=g-import-not-at-top,wrong-import-order
from ml_collections import config_flags  # pylint: disable=g-import-not-at-top,wrong-import-order

from jaxrobust.datasets import build  # pylint: disable=g-import-not-at-top
from jaxrobust import user_modules  # pylint: disable=g-import-not-at-top
from jaxrobust.errors import UserError  # pylint: disable=g-import-not-at-top
from jaxrobust.study import datasets  # pylint: disable=g-import-not-at-top
from jaxrobust.study import prepare  # pylint: disable=g-import-not-at-top

_CONFIG = config_flags.DEFINE_config_file('config', None, 'Study config file (configs/*.py[:arg]).')
_WORKDIR = flags.DEFINE_string('workdir', None, 'The study\'s workdir, whose data dir '
                               '(<workdir>/data by default) receives the datasets.')
_DATA_DIR = flags.DEFINE_string('data_dir', None, 'The data dir, instead of the study\'s.')
_MANUAL_DIR = flags.DEFINE_string('manual_dir', None,
                                  'Folder with manual downloads (ImageNet, iWildCam, iNat).')

_USAGE = ('usage: python -m jaxrobust.study prepare --config=configs/<study>.py[:arg] '
          '(--workdir=W | --data_dir=DIR) [--manual_dir=M]')


def _run(argv: Sequence[str]) -> None:
  if argv[1:] != ['prepare']:
    raise UserError(_USAGE)
  if _CONFIG.value is None:
    raise UserError('prepare needs --config=configs/<study>.py[:arg].')
  user_modules.load(_CONFIG.value.get('imports'))
  data_dir = _DATA_DIR.value or datasets.study_data_dir(_CONFIG.value.data_dir, _WORKDIR.value)
  print(f'prepare: data dir {data_dir}', flush=True)
  print(build.summary_table(prepare.prepare_study(_CONFIG.value, data_dir, _MANUAL_DIR.value)))


def main(argv: Sequence[str]) -> None:
  cli.quiet_libraries()
  with cli.one_line_errors():
    _run(argv)


if __name__ == '__main__':
  app.run(main, flags_parser=cli.parse_flags)
