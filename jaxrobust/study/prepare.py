"""Build every dataset a study reads: generated sources, manual ones, then subsets.

`prepare(study_config, data_dir)` runs on a cheap CPU machine before accelerator
time; it plans the study and builds what the plan reads and is missing
(`plan.datasets_needed(plan)`: entries `{'name': TFDS name, 'subset': spec or None}`,
bases before the subsets drawn from them). Before building anything it checks every manual
download the needs read, and names all the missing ones in one error.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
import dataclasses
import sys
import time
from typing import Any

import tensorflow_datasets as tfds

from jaxrobust import errors
from jaxrobust.data import archives
from jaxrobust.data import loading
from jaxrobust.data import subsets
from jaxrobust.data.builders import imagenet
from jaxrobust.data.subsets import materializer as materializer_lib
from jaxrobust.study import plan as plan_lib


@dataclasses.dataclass(frozen=True)
class Prepared:
  """What prepare did for one dataset."""
  name: str
  action: str        # 'ready' (already there) | 'generated' | 'built' | 'materialized'
  num_examples: int
  seconds: float


def _manual_instructions(builder: tfds.core.DatasetBuilder) -> str | None:
  text = getattr(builder, 'MANUAL_DOWNLOAD_INSTRUCTIONS', None)
  return ' '.join(text.split()) if text else None


def _train_examples(name: str, data_dir: str) -> int:
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


def _prepare_source(name: str, data_dir: str, manual_dir: str | None) -> str:
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
  loading.remove_incomplete(builder)
  builder.download_and_prepare(download_config=config)
  return 'built' if instructions else 'generated'


def prepare_datasets(needs: Iterable[Mapping[str, Any]], data_dir: str | None,
                     manual_dir: str | None = None) -> list[Prepared]:
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
      subsets.materialize(need['subset'], data_dir)
    else:
      name = need['name']
      action = _prepare_source(name, data_dir, manual_dir)
    done.append(Prepared(name, action, _train_examples(name, data_dir), time.time() - start))
  return done


def prepare(study_config: Any, data_dir: str | None,
            manual_dir: str | None = None) -> list[Prepared]:
  """Builds every generated source and subset the study `study_config` reads."""
  plan = plan_lib.plan_study(study_config)
  return prepare_datasets(plan_lib.datasets_needed(plan), data_dir, manual_dir)


def summary_table(prepared: list[Prepared]) -> str:
  """A readable table of what prepare did."""
  width = max([len(p.name) for p in prepared] + [7])
  lines = [f'{"dataset":<{width}}  {"action":<12} {"examples":>9} {"seconds":>8}']
  lines += [f'{p.name:<{width}}  {p.action:<12} {p.num_examples:>9} {p.seconds:>8.1f}'
            for p in prepared]
  return '\n'.join(lines)
