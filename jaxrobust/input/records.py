"""Records of a prepared split read with damage in mind: skipped in training, fatal in evaluation.

A damaged array_record shard (flipped bytes after a copy, a bad disk block) fails only the
records of its damaged chunks, with a Riegeli error that names neither the file nor the
record. `CheckedRecords` wraps a TFDS data source so that such a record
  - in a training split becomes an empty record, which preprocessing turns into a masked
    example counted in `train/skipped_images` like an undecodable image; one warning per
    file names it and every record of it that cannot be read;
  - in an evaluation split stops the run with one `CorruptRecordError` line naming the file:
    every model is compared on the same evaluation set, so it is never silently changed.
`damaged_records` reads every record of a dataset (`python -m jaxrobust.datasets verify`).
"""
from collections.abc import Iterator
import dataclasses
import threading
from typing import Any

from absl import logging
import tensorflow_datasets as tfds

from jaxrobust import errors

# What array_record raises on a damaged chunk or shard (hash mismatch, bad footer, I/O error).
READ_ERRORS = (RuntimeError, OSError)


class CorruptRecordError(errors.UserError):
  """A record of an evaluation split cannot be read."""


@dataclasses.dataclass(frozen=True)
class Shard:
  """One file of a split: its path and the split's record indices [start, stop) it holds."""
  path: str
  start: int
  stop: int


def shards(source: Any) -> list[Shard]:
  """The files of a TFDS data source (`builder.as_data_source(split)`), in record order."""
  out, start = [], 0
  for instruction in tfds.core.data_sources.base.file_instructions(source.dataset_info,
                                                                    source.split):
    take = instruction.take if instruction.take >= 0 else (
        instruction.examples_in_shard - instruction.skip)
    out.append(Shard(str(instruction.filename), start, start + take))
    start += take
  return out


def _shard_of(all_shards: list[Shard], index: int) -> Shard:
  return next(s for s in all_shards if s.start <= index < s.stop)


class CheckedRecords:
  """`source` (a TFDS data source) whose unreadable records are skipped (`training`) or fatal."""

  def __init__(self, source: Any, *, name: str, training: bool):
    self._source, self._name, self._training = source, name, training
    self._warned: set[str] = set()
    self._lock = threading.Lock()

  def __getstate__(self) -> dict[str, Any]:  # grain's worker processes get a copy
    return {**self.__dict__, '_lock': None}

  def __setstate__(self, state: dict[str, Any]) -> None:
    self.__dict__.update(state, _lock=threading.Lock())

  def __len__(self) -> int:
    return len(self._source)

  def __getitem__(self, index: int) -> dict[str, Any]:
    try:
      return self._source[index]
    except READ_ERRORS as e:
      shard = _shard_of(shards(self._source), index)
      where = f'record {index - shard.start} of {shard.path} ({self._name})'
      if not self._training:
        raise CorruptRecordError(
            f'Cannot read {where}: {errors.one_line(e, 160)}. Evaluation sets are never '
            'changed silently: copy or rebuild the dataset, then check it with python -m '
            'jaxrobust.datasets verify.') from None
      self._warn_once(shard, e)
      return {}  # no image and no label: a masked example, counted as skipped

  def _warn_once(self, shard: Shard, error: Exception) -> None:
    """One warning per damaged file, naming every record of it that cannot be read."""
    with self._lock:
      if shard.path in self._warned:
        return
      self._warned.add(shard.path)
    lost = _unreadable(self._source, shard)
    logging.warning('%s (%s) is damaged: %d of its %d records cannot be read (%s: %s); they '
                    'are skipped and counted in train/skipped_images.', shard.path, self._name,
                    len(lost), shard.stop - shard.start, _numbers(lost),
                    errors.one_line(error, 160))


def _unreadable(source: Any, shard: Shard) -> list[int]:
  """The numbers (within the file) of the records of `shard` that cannot be read."""
  lost = []
  for index in range(shard.start, shard.stop):
    try:
      source[index]
    except READ_ERRORS:
      lost.append(index - shard.start)
  return lost


def _numbers(lost: list[int], shown: int = 10) -> str:
  text = ', '.join(map(str, lost[:shown]))
  return f'records {text}' + (f' and {len(lost) - shown} more' if len(lost) > shown else '')


def damaged_records(builder: tfds.core.DatasetBuilder
                    ) -> Iterator[tuple[str, str, int, list[int]]]:
  """(split, file, its number of records, numbers of its unreadable ones) of every damaged file.

  Reads every record of every split of the prepared dataset, as bytes (nothing is decoded).
  """
  for split in sorted(builder.info.splits):
    source = builder.as_data_source(
        split=split, deserialize_method=tfds.decode.DeserializeMethod.RAW_BYTES)
    for shard in shards(source):
      lost = _unreadable(source, shard)
      if lost:
        yield split, shard.path, shard.stop - shard.start, lost
