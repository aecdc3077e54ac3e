"""Dataset commands (a study's datasets: `python -m jaxrobust.study prepare`).

  python -m jaxrobust.datasets build NAME [NAME ...] --data_dir=DIR [--manual_dir=M]
      [--imports=MODULE[,MODULE]]   (the user's builders: docs/own_data.md)
  python -m jaxrobust.datasets generate diffusion_imagenet/<config> --data_dir=DIR
      [--pipeline_dir=P] [--worker=I --num_workers=N] [--batch_size=B] [--compile]
      (text-to-image shards; with N > 1 only worker I's, else all, then the dataset;
      the worker defaults from SLURM / torchrun variables)
  python -m jaxrobust.datasets pipeline random-tiny|random-sd15 DIR   (a random diffusers pipeline)
  python -m jaxrobust.datasets describe subset/<name> --data_dir=DIR
  python -m jaxrobust.datasets describe imagenet2012   (label levels: class sizes, animal classes)
  python -m jaxrobust.datasets recreate path/to/metadata.json --data_dir=DIR
  python -m jaxrobust.datasets verify NAME --data_dir=DIR   (reads every record; exit 1 if damaged)
"""
from collections.abc import Sequence

from jaxrobust import cli  # first: it quiets TensorFlow's and XLA's C++ logs before they load

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-order
from absl import flags  # pylint: disable=g-import-not-at-top,wrong-import-order
import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top,wrong-import-order

from jaxrobust.datasets import build  # pylint: disable=g-import-not-at-top
from jaxrobust.datasets import hierarchy  # pylint: disable=g-import-not-at-top
from jaxrobust.datasets import subsets  # pylint: disable=g-import-not-at-top
from jaxrobust.datasets.builders import diffusion_imagenet  # pylint: disable=g-import-not-at-top
from jaxrobust.datasets.diffusion import shards  # pylint: disable=g-import-not-at-top
from jaxrobust import user_modules  # pylint: disable=g-import-not-at-top
from jaxrobust.input import loading  # pylint: disable=g-import-not-at-top
from jaxrobust.input import records  # pylint: disable=g-import-not-at-top
from jaxrobust.errors import UserError  # pylint: disable=g-import-not-at-top

_DATA_DIR = flags.DEFINE_string('data_dir', None, 'TFDS data dir (default: TFDS default).')
_MANUAL_DIR = flags.DEFINE_string('manual_dir', None,
                                  'Folder with manual downloads (ImageNet, iWildCam, iNat).')
_IMPORTS = flags.DEFINE_string('imports', None, 'Modules registering your own TFDS builders '
                               '(comma-separated), as config.imports of a study.')

_PIPELINE_DIR = flags.DEFINE_string('pipeline_dir', None, 'generate: the local diffusers '
                                    'pipeline folder (default <manual_dir>/<config.pipeline>).')
_WORKER = flags.DEFINE_integer('worker', None, 'generate: this worker (default from SLURM / '
                               'torchrun variables, else 0).')
_NUM_WORKERS = flags.DEFINE_integer('num_workers', None, 'generate: workers sharing the shards.')
_BATCH_SIZE = flags.DEFINE_integer('batch_size', 8, 'generate: prompts per pipeline call.')
_COMPILE = flags.DEFINE_boolean('compile', False, 'generate: torch.compile the UNet.')
_DEVICE = flags.DEFINE_string('device', 'auto', 'generate: torch device (auto: the GPU of '
                              'LOCAL_RANK if any, else cpu).')

_USAGE = ('usage: python -m jaxrobust.datasets build NAME [NAME ...] --data_dir=DIR [--manual_dir=M] | '
          'generate diffusion_imagenet/<config> --data_dir=DIR [--pipeline_dir=P] | '
          'pipeline random-tiny|random-sd15 DIR | '
          'describe subset/<name> | <dataset with a hierarchy> --data_dir=DIR | recreate <manifest or metadata.json> '
          '--data_dir=DIR | verify NAME --data_dir=DIR')


def _run(argv: Sequence[str]) -> None:
  command, args = (argv[1], argv[2:]) if len(argv) > 1 else (None, [])
  user_modules.load(_IMPORTS.value)
  if command == 'prepare':
    raise UserError('A study\'s datasets are prepared by the study: python -m jaxrobust.study '
                    'prepare --config=configs/<study>.py --workdir=W [--manual_dir=M].')
  if command == 'build' and args:  # what `tfds build` does, without its apache_beam import
    done = build.build_datasets([{'name': name, 'subset': None} for name in args],
                                _DATA_DIR.value, _MANUAL_DIR.value)
    print(build.summary_table(done))
  elif command == 'generate' and len(args) == 1:
    _generate(args[0])
  elif command == 'pipeline' and len(args) == 2:
    kind = args[0].removeprefix(diffusion_imagenet.RANDOM_PREFIX)
    from jaxrobust.datasets.diffusion import random_pipeline  # torch: only for this command
    random_pipeline.save(kind, args[1])
    print(f'wrote a random {kind} pipeline to {args[1]}')
  elif command == 'describe' and len(args) == 1 and args[0].startswith('subset/'):
    print(subsets.describe(args[0], _DATA_DIR.value))
  elif command == 'describe' and len(args) == 1:
    print(hierarchy.describe_levels(hierarchy.load_hierarchy(args[0], _DATA_DIR.value)))
  elif command == 'recreate' and len(args) == 1:
    name = subsets.recreate(args[0], _DATA_DIR.value)
    print(subsets.describe(name, _DATA_DIR.value))
  elif command == 'verify' and len(args) == 1:
    _verify(args[0])
  else:
    raise UserError(_USAGE)


def _verify(name: str) -> None:
  """Reads every record of the prepared dataset `name`; a damaged file is a UserError."""
  builder = loading.open_dataset(name, _DATA_DIR.value)
  damaged = []
  for split, path, num_records, lost in records.damaged_records(builder):
    print(f'{split}: {path}: {len(lost)} of {num_records} records cannot be read '
          f'(record {", ".join(map(str, lost[:20]))}{" ..." if len(lost) > 20 else ""})')
    damaged.append(path)
  if damaged:
    raise UserError(f'{name} in {builder.data_dir}: {len(damaged)} damaged file(s), listed '
                    'above; copy them again from an intact copy or rebuild the dataset.')
  total = sum(split.num_examples for split in builder.info.splits.values())
  print(f'verify: {name} in {builder.data_dir}: all {total} records of '
        f'{len(builder.info.splits)} splits read back.')


def _generate(name: str) -> None:
  """This worker's shards of a text-to-image dataset; with one worker, then the dataset."""
  from jaxrobust.datasets.diffusion import sampler  # torch: only for this command
  env_worker, env_workers = shards.worker_from_env()
  worker = env_worker if _WORKER.value is None else _WORKER.value
  num_workers = _NUM_WORKERS.value or (env_workers if _WORKER.value is None else 1)
  builder = tfds.builder(name, data_dir=_DATA_DIR.value, pipeline_dir=_PIPELINE_DIR.value,
                         runtime=sampler.Runtime(_BATCH_SIZE.value, _DEVICE.value,
                                                 _COMPILE.value))
  if not isinstance(builder, diffusion_imagenet.DiffusionImagenet):
    raise UserError(f'generate: {name} is not a {diffusion_imagenet.NAME} dataset.')
  if num_workers > 1 or worker:
    builder.generate(worker, num_workers, _MANUAL_DIR.value)
    left = len(builder.missing_shards())
    print(f'generate: worker {worker}/{num_workers} done; {left} shards of {name} left in all'
          + ('' if left else f'; assemble with: python -m jaxrobust.datasets generate {name} '
             f'--data_dir={builder.data_dir_root}'))
    return
  if not builder.is_prepared():
    build.remove_incomplete(builder)
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
        manual_dir=_MANUAL_DIR.value, try_download_gcs=False))
  count = sum(split.num_examples for split in builder.info.splits.values())
  print(f'generate: {name} ready in {builder.data_dir} ({count} images)')


def main(argv: Sequence[str]) -> None:
  cli.quiet_libraries()
  with cli.one_line_errors():
    try:
      _run(argv)
    except tfds.core.registered.DatasetNotFoundError as e:  # TFDS appends every known name
      raise UserError(f'{str(e).splitlines()[0]} Check the name: jaxrobust registers '
                      'fractaldb, fractal_hierarchy, synthetic_wildcam, diffusion_imagenet, iwildcam, '
                      'camelyon17, inaturalist and subset; TFDS its own (e.g. imagenet2012); '
                      '--imports=MODULE yours.') from e


if __name__ == '__main__':
  app.run(main, flags_parser=cli.parse_flags)
