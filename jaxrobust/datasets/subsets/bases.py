"""Base datasets of a subset: open one, its label hierarchy, its cached label index."""
from __future__ import annotations

from concurrent import futures
import dataclasses
import os

from absl import logging
import numpy as np
import tensorflow_datasets as tfds
from tensorflow_datasets.proto import tf_example_pb2
import tqdm

from jaxrobust import errors
from jaxrobust.datasets import hierarchy as hierarchy_lib
from jaxrobust.datasets.subsets import records as records_lib
from jaxrobust.datasets.subsets import spec as spec_lib

_READ_CHUNK = 512
_INDEX_DIR = '_label_index'  # Under <data_dir>/subset/; not a TFDS config.


@dataclasses.dataclass(frozen=True)
class Base:
  """A built TFDS dataset split that a subset copies records from."""
  name: str
  split: str
  builder: tfds.core.DatasetBuilder

  @property
  def version(self) -> str:
    return str(self.builder.info.version)

  @property
  def num_records(self) -> int:
    return self.builder.info.splits[self.split].num_examples

  @property
  def image_feature(self) -> tfds.features.Image:
    return self.builder.info.features[records_lib.IMAGE_KEY]


def open_base(source: spec_lib.Source, data_dir: str | None, field: str = 'sources') -> Base:
  """Opens a built base dataset, with a one-line error saying how to build a missing one."""
  try:
    builder = tfds.builder(source.name, data_dir=data_dir)
  except Exception as e:  # TFDS raises several types for unknown names and versions.
    raise errors.DatasetNotBuiltError(
        f'{field}: {source.name} is neither built in {data_dir} nor a known TFDS builder '
        f'({type(e).__name__}); check the name, or build it first.') from e
  if not builder.is_prepared():
    raise errors.DatasetNotBuiltError(
        f'{field}: dataset {source.name} is not built in {data_dir}; build it with '
        f'`python -m jaxrobust.study prepare --config=...` (generated sources) or `tfds build '
        f'{source.name} --imports=jaxrobust.datasets --manual_dir=M --data_dir={data_dir}`.')
  if source.split not in builder.info.splits:
    raise spec_lib.SpecError(
        f'{field}: {source.name} has no split {source.split!r}; its splits are '
        f'{sorted(builder.info.splits)}.')
  features = builder.info.features
  for key in (records_lib.IMAGE_KEY, hierarchy_lib.FINE_LEVEL):
    if key not in features:
      raise spec_lib.SpecError(
          f'{field}: {source.name} has no {key!r} feature; a subset base needs '
          f'`image` and `label` features.')
  return Base(source.name, source.split, builder)


def raw_source(base: Base):
  """The base split as a random-access source of serialized tf.Example records."""
  return base.builder.as_data_source(
      split=base.split, deserialize_method=tfds.decode.DeserializeMethod.RAW_BYTES)


def read_chunks(source, ids: np.ndarray, desc: str):
  """Yields (ids chunk, records) reading `ids` in order, the next chunk read ahead."""
  chunks = [ids[start:start + _READ_CHUNK] for start in range(0, len(ids), _READ_CHUNK)]
  with futures.ThreadPoolExecutor(1) as pool, \
      tqdm.tqdm(total=len(ids), desc=desc, unit='rec', leave=False, disable=None) as bar:
    ahead = [pool.submit(source.__getitems__, c.tolist()) for c in chunks[:1]]
    for i, chunk in enumerate(chunks):
      records = ahead.pop().result()
      if i + 1 < len(chunks):  # The read releases the GIL: it overlaps the caller's work.
        ahead.append(pool.submit(source.__getitems__, chunks[i + 1].tolist()))
      yield chunk, records
      bar.update(len(chunk))


def label_index_path(base: Base) -> str:
  slug = base.name.replace('/', '-')
  return os.path.join(str(base.builder.data_dir_root), spec_lib.BUILDER_NAME, _INDEX_DIR,
                      f'{slug}-{base.version}-{base.split}.npy')


def _read_base_labels(base: Base) -> np.ndarray:
  source = raw_source(base)
  labels = np.empty(len(source), dtype=np.int64)
  parse = tf_example_pb2.Example.FromString
  for chunk, raws in read_chunks(source, np.arange(len(source)),
                                 f'label index {base.name}:{base.split}'):
    labels[chunk] = [parse(raw).features.feature[hierarchy_lib.FINE_LEVEL].int64_list.value[0]
                     for raw in raws]
  return labels


def base_labels(base: Base) -> np.ndarray:
  """The base's own `label` id of every record of the split (read once, then cached)."""
  path = label_index_path(base)
  if os.path.exists(path):
    labels = np.load(path)
    if len(labels) == base.num_records:
      return labels
  logging.info('Indexing labels of %s:%s (one pass over the records).', base.name, base.split)
  labels = _read_base_labels(base)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  tmp = f'{path}.tmp{os.getpid()}.npy'
  np.save(tmp, labels)
  os.replace(tmp, path)
  return labels


def fine_ids_of_base_labels(base: Base, hierarchy: hierarchy_lib.Hierarchy) -> np.ndarray:
  """Maps the base's `label` ids to hierarchy fine ids (by class name when they differ)."""
  names = base.builder.info.features[hierarchy_lib.FINE_LEVEL].names
  fine_names = hierarchy.classes[hierarchy_lib.FINE_LEVEL]
  unnamed = tuple(names) == tuple(str(i) for i in range(len(names)))  # ClassLabel(num_classes=)
  if tuple(names) == tuple(fine_names) or (unnamed and len(names) == len(fine_names)):
    return np.arange(len(names), dtype=np.int64)
  position = {name: i for i, name in enumerate(fine_names)}
  missing = [n for n in names if n not in position]
  if missing:
    raise spec_lib.SpecError(
        f'the hierarchy of {base.name} lacks its classes {missing[:5]} '
        f'({len(missing)} in all); fix or supply the hierarchy file.')
  return np.array([position[n] for n in names], dtype=np.int64)


def fine_labels(base: Base, hierarchy: hierarchy_lib.Hierarchy) -> np.ndarray:
  """The hierarchy fine class id of every record of the base split."""
  return fine_ids_of_base_labels(base, hierarchy)[base_labels(base)]
