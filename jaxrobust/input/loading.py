"""Open a prepared TFDS dataset split as a random-access source for grain (images left encoded).

The engine reads datasets only through here. It builds nothing: the run entry
(jaxrobust.study.stages) prepares generated datasets, and TFDS reads a prepared dataset from
its files even when no builder of that name is registered in this process.
"""
from typing import Any

import tensorflow_datasets as tfds

from jaxrobust.errors import ConfigError, DatasetNotBuiltError
from jaxrobust.input import records


def open_dataset(name: str, data_dir: str | None = None) -> tfds.core.DatasetBuilder:
  """The prepared TFDS dataset `name` ("dataset[/config]") in `data_dir`.

  A dataset that is not built is a one-line `DatasetNotBuiltError` naming the command that
  builds it.
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
  where = f' --data_dir={data_dir}' if data_dir else ''
  raise DatasetNotBuiltError(
      f'Dataset {name!r} is not built in {builder.data_dir}; build it with '
      f'`python -m jaxrobust.study prepare --config=<your study config> --data_dir=DIR` or '
      f'`python -m jaxrobust.datasets build {name}{where} [--manual_dir=M]`.')


def open_split(builder: tfds.core.DatasetBuilder, split: str, image_key: str = 'image', *,
               training: bool = False) -> records.CheckedRecords:
  """A random-access source of `split` whose records carry the encoded image bytes.

  An unreadable record is skipped in a `training` split and stops the run otherwise
  (jaxrobust.input.records).
  """
  if split not in builder.info.splits:
    raise ConfigError(
        f'Dataset {builder.info.full_name} has no split {split!r} '
        f'(splits: {", ".join(sorted(builder.info.splits))}); fix config.data.*_split(s).')
  source = builder.as_data_source(split=split,
                                  decoders={image_key: tfds.decode.SkipDecoding()})
  return records.CheckedRecords(source, name=f'{builder.info.full_name} {split}',
                                training=training)


def num_classes(builder: tfds.core.DatasetBuilder, label_key: str) -> int:
  """Number of classes of the integer label feature `label_key`."""
  features = builder.info.features
  if label_key not in features:
    raise ConfigError(
        f'Dataset {builder.info.full_name} has no feature {label_key!r} '
        f'(config.data.label_key); it has: {", ".join(sorted(features.keys()))}.')
  return features[label_key].num_classes
