"""Build TFDS datasets into a data dir: generated sources, manual downloads, subsets.

`build_datasets(needs, data_dir)` takes what a study plan reads (entries `{'name': TFDS name,
'subset': spec or None}`, bases before the subsets drawn from them). Before building anything
it checks every manual download the needs read, and names all the missing ones in one error.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
import contextlib
import dataclasses
import io
import shutil
import sys
import time
from typing import Any

from absl import logging
from etils import epath
import tensorflow_datasets as tfds

import jaxrobust.datasets  # noqa: F401  (registers the project's builders)
from jaxrobust import errors
from jaxrobust.datasets import archives
from jaxrobust.datasets import generated
from jaxrobust.datasets import subsets
from jaxrobust.datasets.builders import imagenet
from jaxrobust.datasets.subsets import materializer as materializer_lib

_GENERATED_MODULE_PREFIX = 'jaxrobust.datasets'


@dataclasses.dataclass(frozen=True)
class Built:
  """What building did for one dataset."""
  name: str
  action: str        # 'ready' (already there) | 'generated' | 'built' | 'materialized'
  num_examples: int
  seconds: float


@contextlib.contextmanager
def _tfds_notices_to_log() -> Iterator[None]:
  """TFDS prints 'Downloading and preparing dataset ...' for every build, though nothing is
  downloaded here: its notices go to the log (--verbosity=0), the summary table says the rest."""
  printed = io.StringIO()
  try:
    with contextlib.redirect_stdout(printed):
      yield
  finally:
    for line in printed.getvalue().splitlines():
      if line.strip():
        logging.info('%s', line.strip())


def remove_incomplete(builder: tfds.core.DatasetBuilder) -> None:
  """Removes the `incomplete.*` folders an interrupted (killed) build of `builder` left."""
  data_path = epath.Path(builder.data_path)
  for path in data_path.parent.glob(f'incomplete.*_{data_path.name}'):
    logging.warning('Removing %s, left by an interrupted build of %s.', path, builder.name)
    shutil.rmtree(path)


def is_generated(builder: tfds.core.DatasetBuilder) -> bool:
  """A builder of ours that renders its data offline (no manual download)."""
  return (type(builder).__module__.startswith(_GENERATED_MODULE_PREFIX)
          and not builder.MANUAL_DOWNLOAD_INSTRUCTIONS)


def generate_if_missing(name: str, data_dir: str | None) -> None:
  """Generates dataset `name` when it is one of the offline generators and is not built yet."""
  if name.split('/')[0] not in generated.GENERATED:
    return
  try:
    builder = tfds.builder(name, data_dir=data_dir, file_format='array_record')
  except tfds.core.registered.DatasetNotFoundError:
    return  # the engine's reader names the unknown dataset
  if builder.is_prepared() or not is_generated(builder):
    return
  logging.info('Dataset %s is not built in %s; generating it (config.data.auto_prepare).',
               name, builder.data_dir)
  remove_incomplete(builder)
  with _tfds_notices_to_log():
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(try_download_gcs=False))


def _manual_instructions(builder: tfds.core.DatasetBuilder) -> str | None:
  text = getattr(builder, 'MANUAL_DOWNLOAD_INSTRUCTIONS', None)
  return ' '.join(text.split()) if text else None


def _num_examples(name: str, data_dir: str) -> int:
  info = tfds.builder(name, data_dir=data_dir).info
  return sum(split.num_examples for split in info.splits.values())


def _manual_files(builder: tfds.core.DatasetBuilder) -> archives.ManualFiles | None:
  """The files of the builder's manual download, for the builders that list them."""
  if builder.name == imagenet.NAME:
    return imagenet.MANUAL
  manual_files = getattr(builder, 'manual_files', None)
  return manual_files() if manual_files else None


def _check_manual_downloads(needs: Iterable[Mapping[str, Any]], data_dir: str,
                            manual_dir: str | None) -> None:
  """Raises one error naming every missing manual download of `needs` (nothing is built)."""
  missing = []
  for need in needs:
    if need.get('subset') is not None:
      continue
    builder = tfds.builder(need['name'], data_dir=data_dir)
    files = _manual_files(builder)
    if files is None or builder.is_prepared():
      continue
    try:
      files.require(manual_dir or imagenet.default_manual_dir(data_dir))
    except archives.MissingManualFileError as e:
      missing.append(str(e))
  if len(missing) > 1:
    raise archives.MissingManualFileError(
        f'{len(missing)} manual downloads are missing:\n  ' + '\n  '.join(missing))
  if missing:
    raise archives.MissingManualFileError(missing[0])


def build_source(name: str, data_dir: str, manual_dir: str | None) -> str:
  """Builds the (non-subset) dataset `name` unless it is there; returns what it did.

  Any registered TFDS builder (the user's own too) is written as array_record, the format
  the engine and the subsets read at random.
  """
  builder = tfds.builder(name, data_dir=data_dir)
  if builder.is_prepared():
    return 'ready'
  if builder.name == imagenet.NAME:  # TFDS's own builder: name the missing tars, array_record
    imagenet.imagenet_builder(data_dir, manual_dir)
    return 'built'
  instructions = _manual_instructions(builder)
  if instructions and not manual_dir and _manual_files(builder) is None:
    raise errors.DatasetNotBuiltError(
        f'{name} needs its manual download: {instructions} Then rerun with '
        '--manual_dir=<that folder>.')
  config = tfds.download.DownloadConfig(manual_dir=manual_dir, try_download_gcs=False)
  remove_incomplete(builder)
  with _tfds_notices_to_log():
    builder.download_and_prepare(download_config=config, file_format='array_record')
  return 'built' if instructions else 'generated'


def build_datasets(needs: Iterable[Mapping[str, Any]], data_dir: str | None,
                   manual_dir: str | None = None) -> list[Built]:
  """Builds each needed dataset (`{'name', 'subset'}` entries) unless already there."""
  data_dir = materializer_lib.resolve_data_dir(data_dir)
  needs = list(needs)
  _check_manual_downloads(needs, data_dir, manual_dir)
  if not sys.stderr.isatty():  # a log file: TFDS's bars would write a line a second (their
    tfds.disable_progress_bar()  # refresh is hard-coded); the table below sums each build up
  done = []
  for need in needs:
    start = time.time()
    if need.get('subset') is not None:
      name = subsets.subset_name(need['subset'])
      action = 'ready' if subsets.is_materialized(name, data_dir) else 'materialized'
      with _tfds_notices_to_log():
        subsets.materialize(need['subset'], data_dir)
    else:
      name = need['name']
      action = build_source(name, data_dir, manual_dir)
    done.append(Built(name, action, _num_examples(name, data_dir), time.time() - start))
  return done


def summary_table(built: list[Built]) -> str:
  """A readable table of what building did."""
  width = max([len(b.name) for b in built] + [7])
  lines = [f'{"dataset":<{width}}  {"action":<12} {"examples":>9} {"seconds":>8}']
  lines += [f'{b.name:<{width}}  {b.action:<12} {b.num_examples:>9} {b.seconds:>8.1f}'
            for b in built]
  return '\n'.join(lines)
