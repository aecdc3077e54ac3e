"""Open a TFDS dataset split as a random-access source for grain (images left encoded)."""
import shutil
from typing import Any

from absl import logging
from etils import epath
import tensorflow_datasets as tfds

import jaxrobust.data  # noqa: F401  (registers the project's builders)
from jaxrobust.errors import ConfigError, DatasetNotBuiltError

_GENERATED_MODULE_PREFIX = 'jaxrobust.data'


def _is_generated(builder: tfds.core.DatasetBuilder) -> bool:
  """A builder of ours that renders its data offline (no manual download)."""
  return (type(builder).__module__.startswith(_GENERATED_MODULE_PREFIX)
          and not builder.MANUAL_DOWNLOAD_INSTRUCTIONS)


def _prepare_command(name: str, data_dir: str | None) -> str:
  where = f' --data_dir={data_dir}' if data_dir else ''
  return f'python -m jaxrobust.data build {name}{where} [--manual_dir=M]'


def remove_incomplete(builder: tfds.core.DatasetBuilder) -> None:
  """Removes the `incomplete.*` folders an interrupted (killed) build of `builder` left."""
  data_path = epath.Path(builder.data_path)
  for path in data_path.parent.glob(f'incomplete.*_{data_path.name}'):
    logging.warning('Removing %s, left by an interrupted build of %s.', path, builder.name)
    shutil.rmtree(path)


def prepared_builder(name: str, data_dir: str | None = None, *,
                     auto_prepare: bool = False) -> tfds.core.DatasetBuilder:
  """The TFDS builder of `name` ("dataset[/config]"), built first if allowed.

  A dataset that is not built is generated when `auto_prepare` is set and the builder is
  one of the project's offline generators; otherwise a one-line `DatasetNotBuiltError`
  names the command that builds it.
  """
  try:
    builder = tfds.builder(name, data_dir=data_dir, file_format='array_record')
  except tfds.core.registered.DatasetNotFoundError as e:
    del e
    raise DatasetNotBuiltError(
        f'Unknown dataset {name!r} (config.data.name): no builder is registered under that '
        f'name and {data_dir or "the TFDS data_dir"} holds no prepared copy.') from None
  if builder.is_prepared():
    return builder
  if auto_prepare and _is_generated(builder):
    logging.info('Dataset %s is not built in %s; generating it (config.data.auto_prepare).',
                 name, builder.data_dir)
    remove_incomplete(builder)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(try_download_gcs=False))
    return builder
  raise DatasetNotBuiltError(
      f'Dataset {name!r} is not built in {builder.data_dir}; build it with '
      f'`python -m jaxrobust.data prepare --config=<your config> --data_dir=DIR` or '
      f'`{_prepare_command(name, data_dir)}`.')


def open_split(builder: tfds.core.DatasetBuilder, split: str, image_key: str = 'image'
               ) -> Any:
  """A random-access source of `split` whose records carry the encoded image bytes."""
  if split not in builder.info.splits:
    raise ConfigError(
        f'Dataset {builder.info.full_name} has no split {split!r} '
        f'(splits: {", ".join(sorted(builder.info.splits))}); fix config.data.*_split(s).')
  return builder.as_data_source(split=split,
                                decoders={image_key: tfds.decode.SkipDecoding()})


def num_classes(builder: tfds.core.DatasetBuilder, label_key: str) -> int:
  """Number of classes of the integer label feature `label_key`."""
  features = builder.info.features
  if label_key not in features:
    raise ConfigError(
        f'Dataset {builder.info.full_name} has no feature {label_key!r} '
        f'(config.data.label_key); it has: {", ".join(sorted(features.keys()))}.')
  return features[label_key].num_classes
