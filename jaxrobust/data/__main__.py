"""Dataset commands.

  python -m jaxrobust.data prepare --config=configs/<study>.py[:arg] --data_dir=DIR [--manual_dir=M]
  python -m jaxrobust.data build NAME [NAME ...] --data_dir=DIR [--manual_dir=M]
  python -m jaxrobust.data describe subset/<name> --data_dir=DIR
  python -m jaxrobust.data describe imagenet2012   (label levels: class sizes, animal classes)
  python -m jaxrobust.data recreate path/to/metadata.json --data_dir=DIR
"""
from collections.abc import Sequence
import sys

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags
import tensorflow_datasets as tfds

from jaxrobust.data import hierarchy
from jaxrobust.data import subsets
from jaxrobust.errors import UserError
from jaxrobust.study import prepare as prepare_lib

_CONFIG = config_flags.DEFINE_config_file('config', None, 'Study config file (prepare).')
_DATA_DIR = flags.DEFINE_string('data_dir', None, 'TFDS data dir (default: TFDS default).')
_MANUAL_DIR = flags.DEFINE_string('manual_dir', None,
                                  'Folder with manual downloads (ImageNet, iWildCam, iNat).')

_USAGE = ('usage: python -m jaxrobust.data prepare --config=configs/<study>.py --data_dir=DIR | '
          'build NAME [NAME ...] --data_dir=DIR [--manual_dir=M] | '
          'describe subset/<name> | <dataset with a hierarchy> --data_dir=DIR | recreate <manifest or metadata.json> '
          '--data_dir=DIR')


def _run(argv: Sequence[str]) -> None:
  command, args = (argv[1], argv[2:]) if len(argv) > 1 else (None, [])
  if command == 'prepare' and not args:
    if _CONFIG.value is None:
      raise app.UsageError('prepare needs --config=configs/<study>.py[:arg].')
    done = prepare_lib.prepare(_CONFIG.value, _DATA_DIR.value, _MANUAL_DIR.value)
    print(prepare_lib.summary_table(done))
  elif command == 'build' and args:  # what `tfds build` does, without its apache_beam import
    done = prepare_lib.prepare_datasets([{'name': name, 'subset': None} for name in args],
                                        _DATA_DIR.value, _MANUAL_DIR.value)
    print(prepare_lib.summary_table(done))
  elif command == 'describe' and len(args) == 1 and args[0].startswith('subset/'):
    print(subsets.describe(args[0], _DATA_DIR.value))
  elif command == 'describe' and len(args) == 1:
    print(hierarchy.describe_levels(hierarchy.load_hierarchy(args[0], _DATA_DIR.value)))
  elif command == 'recreate' and len(args) == 1:
    name = subsets.recreate(args[0], _DATA_DIR.value)
    print(subsets.describe(name, _DATA_DIR.value))
  else:
    raise app.UsageError(_USAGE)


def main(argv: Sequence[str]) -> None:
  logging.set_verbosity(logging.WARNING)  # TFDS logs every file it opens at INFO.
  try:
    _run(argv)
  except UserError as e:
    sys.exit(f'error: {e}')
  except tfds.core.registered.DatasetNotFoundError as e:  # TFDS appends every known name
    sys.exit(f'error: {str(e).splitlines()[0]} Check the name: jaxrobust registers '
             'fractaldb, fractal_hierarchy, synthetic_wildcam, iwildcam, inaturalist and '
             'subset; TFDS its own (e.g. imagenet2012).')


if __name__ == '__main__':
  app.run(main)
