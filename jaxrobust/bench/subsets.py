"""Subset materialization speed against a plain TFDS read of the same base records.

  python -m jaxrobust.bench subsets [--json] [--num_examples=20000] [--image_size=64]

Generates a local hierarchical base (10 superclasses x 10 classes, PNG images), then
times, in the same run: a plain `tfds.data_source` read of the records the subset
selects (images left encoded, as a copy needs them; and decoded, as training reads
them), the label-index pass, and `materialize` of a class-balanced subset of
`num_examples` records. `copy_vs_read_ratio` = materialize records/s over the plain
read's records/s (higher is better; 0.5 means the copy is 2x slower than the read).
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time

import numpy as np
import tensorflow_datasets as tfds

from jaxrobust.data import hierarchy as hierarchy_lib
from jaxrobust.data import subsets
from jaxrobust.data.builders import encode_image
from jaxrobust.data.subsets import bases as bases_lib
from jaxrobust.data.subsets import select as select_lib

_SUPER, _PER_SUPER = 10, 10
_DISTINCT_IMAGES = 256  # Encoding is not what is measured; records reuse these.


@dataclasses.dataclass(eq=False)
class BenchBaseConfig(tfds.core.BuilderConfig):
  images_per_class: int = 250
  image_size: int = 64


def _bench_hierarchy() -> hierarchy_lib.Hierarchy:
  fine = np.arange(_SUPER * _PER_SUPER)
  return hierarchy_lib.Hierarchy(
      levels=('super', 'label'),
      classes={'super': tuple(f's{i}' for i in range(_SUPER)),
               'label': tuple(f'c{i}' for i in fine)},
      ancestors={'super': fine // _PER_SUPER, 'label': fine}, groups={})


class _HierarchyMetadata(tfds.core.MetadataDict):

  def save_metadata(self, data_dir):
    super().save_metadata(data_dir)
    _bench_hierarchy().save(os.path.join(os.fspath(data_dir), hierarchy_lib.HIERARCHY_FILE))


class SubsetBenchBase(tfds.core.GeneratorBasedBuilder):
  """Benchmark base: 100 classes in 10 superclasses, noisy colour-block PNG images."""
  VERSION = tfds.core.Version('1.0.0')
  BUILDER_CONFIGS = [BenchBaseConfig(name='default')]  # run() makes the sized config.

  def __init__(self, **kwargs):
    super().__init__(file_format='array_record', **kwargs)

  def _info(self):
    h, size = _bench_hierarchy(), self.builder_config.image_size
    return tfds.core.DatasetInfo(
        builder=self, metadata=_HierarchyMetadata(),
        features=tfds.features.FeaturesDict({
            'image': tfds.features.Image(shape=(size, size, 3), encoding_format='png'),
            'label': tfds.features.ClassLabel(names=list(h.classes['label'])),
            'label_super': tfds.features.ClassLabel(names=list(h.classes['super']))}))

  def _split_generators(self, dl_manager):
    return {'train': self._generate_examples()}

  def _generate_examples(self):
    config, h = self.builder_config, _bench_hierarchy()
    rng = np.random.default_rng(0)
    size = config.image_size
    images = []
    for _ in range(_DISTINCT_IMAGES):  # Smooth colour blocks plus sensor-like noise.
      blocks = rng.integers(0, 224, (8, 8, 3), dtype=np.uint8)
      image = np.kron(blocks, np.ones((size // 8, size // 8, 1), np.uint8))
      images.append(encode_image(image + rng.integers(0, 32, image.shape, dtype=np.uint8)))
    labels = rng.permutation(np.repeat(np.arange(h.num_fine), config.images_per_class))
    for i, label in enumerate(labels):
      yield i, {'image': images[i % _DISTINCT_IMAGES], 'label': int(label),
                'label_super': int(h.ancestors['super'][label])}


def _records_per_second(fn, count: int) -> float:
  start = time.perf_counter()
  fn()
  return count / (time.perf_counter() - start)


def _read_all(source, ids: np.ndarray) -> None:
  for start in range(0, len(ids), 512):
    source.__getitems__(ids[start:start + 512].tolist())


def run(num_examples: int, image_size: int, data_dir: str) -> dict[str, float]:
  """Builds the base if needed and returns the measured figures."""
  per_class = -(-num_examples * 5 // 4 // (_SUPER * _PER_SUPER))  # 25% more than selected.
  config = BenchBaseConfig(name=f'n{per_class}_px{image_size}', images_per_class=per_class,
                           image_size=image_size)
  builder = SubsetBenchBase(config=config, data_dir=data_dir)
  builder.download_and_prepare()
  base_name = f'subset_bench_base/{config.name}'
  spec = {'sources': [{'name': base_name, 'split': 'train', 'weight': 1.0}],
          'num_examples': num_examples, 'seed': int(time.time())}  # A fresh subset each run.
  base = bases_lib.open_base(subsets.as_spec(spec).sources[0], data_dir)
  index_rps = _records_per_second(lambda: bases_lib.base_labels(base), base.num_records)
  hierarchy = hierarchy_lib.load_hierarchy(base_name, data_dir)
  (quota,) = select_lib.quotas(subsets.as_spec(spec))
  ids = select_lib.select(bases_lib.fine_labels(base, hierarchy), hierarchy, quota).record_ids
  encoded = builder.as_data_source('train', decoders={'image': tfds.decode.SkipDecoding()})
  read_rps = _records_per_second(lambda: _read_all(encoded, ids), len(ids))
  decoded_rps = _records_per_second(lambda: _read_all(builder.as_data_source('train'), ids),
                                    len(ids))
  copy_rps = _records_per_second(lambda: subsets.materialize(spec, data_dir), num_examples)
  record_bytes = builder.info.splits['train'].num_bytes / base.num_records
  return {'num_examples': num_examples, 'image_size': image_size,
          'record_bytes': round(record_bytes), 'tfds_read_rps': read_rps,
          'tfds_read_decoded_rps': decoded_rps, 'label_index_rps': index_rps,
          'materialize_rps': copy_rps, 'copy_vs_read_ratio': copy_rps / read_rps}


def _table(figures: dict[str, float]) -> str:
  rows = [('plain tfds read, images encoded', figures['tfds_read_rps']),
          ('plain tfds read, images decoded', figures['tfds_read_decoded_rps']),
          ('label index pass (once per base)', figures['label_index_rps']),
          ('materialize subset (select + copy + write)', figures['materialize_rps'])]
  lines = [f'subset of {figures["num_examples"]} records, base images '
           f'{figures["image_size"]}px PNG, {figures["record_bytes"]} bytes/record',
           f'{"":<44} {"records/s":>10}']
  lines += [f'{label:<44} {value:>10.0f}' for label, value in rows]
  lines.append(f'{"copy_vs_read_ratio":<44} {figures["copy_vs_read_ratio"]:>10.2f}')
  return '\n'.join(lines)


def main(argv: Sequence[str]) -> None:
  """Parses `[--json] [--num_examples=N] [--image_size=PX] [--data_dir=DIR]` and reports."""
  parser = argparse.ArgumentParser(prog='python -m jaxrobust.bench subsets')
  parser.add_argument('--json', action='store_true', help='end with one JSON line')
  parser.add_argument('--num_examples', type=int, default=20_000)
  parser.add_argument('--image_size', type=int, default=64)
  parser.add_argument('--data_dir', default=None, help='keep the base here (default: temp)')
  args = parser.parse_args(argv)
  data_dir = args.data_dir or tempfile.mkdtemp(prefix='subset_bench_')
  try:
    figures = run(args.num_examples, args.image_size, data_dir)
  finally:
    if not args.data_dir:
      shutil.rmtree(data_dir, ignore_errors=True)
  print(_table(figures))
  if args.json:
    print(json.dumps(figures))


if __name__ == '__main__':
  main(sys.argv[1:])
