"""Subset materialization speed against a plain TFDS read of the same base records.

  python -m jaxrobust.bench subsets [--json] [--num_examples=20000] [--image_size=64]
      [--repeats=3] [--base=fractal_hierarchy/medium] [--data_dir=DIR]

Generates a local hierarchical base (10 superclasses x 10 classes, PNG images; or
builds `--base`, e.g. a generated fractal_hierarchy config), then
times, in the same run: a plain `tfds.data_source` read of the records the subset
selects (images left encoded, as a copy needs them; and decoded, as training reads
them), the label-index pass, and `materialize` of a class-balanced subset of
`num_examples` records, plus plain file writes of as many bytes (the I/O ceiling).
`copy_vs_read_ratio` = materialize records/s over the plain read's records/s (higher is
better; 0.5 means the copy is 2x slower than the read); `copy_vs_file_write_ratio` =
materialize bytes/s over plain file-write bytes/s (near 1: the copy is I/O-bound).
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

from jaxrobust.datasets import hierarchy as hierarchy_lib
from jaxrobust.datasets import subsets
from jaxrobust.datasets import builders
from jaxrobust.datasets.builders import encode_image
from jaxrobust.datasets.subsets import bases as bases_lib
from jaxrobust.datasets.subsets import select as select_lib

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


class SubsetBenchBase(tfds.core.GeneratorBasedBuilder):
  """Benchmark base: 100 classes in 10 superclasses, noisy colour-block PNG images."""
  VERSION = tfds.core.Version('1.0.0')
  BUILDER_CONFIGS = [BenchBaseConfig(name='default')]  # run() makes the sized config.

  def __init__(self, **kwargs):
    super().__init__(file_format='array_record', **kwargs)

  def _info(self):
    h, size = _bench_hierarchy(), self.builder_config.image_size
    return tfds.core.DatasetInfo(
        builder=self, metadata=builders.HierarchyMetadata(hierarchy=h.to_json()),
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


def _best_records_per_second(tasks: dict, repeats: int) -> dict[str, float]:
  """Best records/s of each `name: (fn(repeat), records)` task, the tasks interleaved per
  repeat so that all of them see the same load on a shared machine."""
  best = dict.fromkeys(tasks, 0.0)
  for repeat in range(repeats):
    for name, (fn, count) in tasks.items():
      start = time.perf_counter()
      fn(repeat)
      best[name] = max(best[name], count / (time.perf_counter() - start))
  return best


def _read_all(source, ids: np.ndarray) -> None:
  for start in range(0, len(ids), 512):
    source.__getitems__(ids[start:start + 512].tolist())


def _build_base(base: str | None, num_examples: int, image_size: int,
                data_dir: str) -> tuple[str, tfds.core.DatasetBuilder]:
  """The named base (built here if it is a generated source), else the synthetic one."""
  if base is not None:
    builder = tfds.builder(base, data_dir=data_dir)
    builder.download_and_prepare()
    return base, builder
  per_class = -(-num_examples * 5 // 4 // (_SUPER * _PER_SUPER))  # 25% more than selected.
  config = BenchBaseConfig(name=f'n{per_class}_px{image_size}', images_per_class=per_class,
                           image_size=image_size)
  builder = SubsetBenchBase(config=config, data_dir=data_dir)
  builder.download_and_prepare()
  return f'subset_bench_base/{config.name}', builder


def _write_file(path: str, num_bytes: int) -> None:
  block = os.urandom(1 << 20)
  with open(path, 'wb') as f:
    for _ in range(-(-num_bytes // len(block))):
      f.write(block)
  os.remove(path)


def run(num_examples: int, image_size: int, data_dir: str, repeats: int = 3,
        base: str | None = None) -> dict[str, float]:
  """Builds the base if needed and returns the measured figures (best of `repeats`)."""
  base_name, builder = _build_base(base, num_examples, image_size, data_dir)
  seed = int(time.time())  # Fresh subsets on every run, also in a kept --data_dir.

  def spec(repeat: int) -> dict:
    return {'sources': [{'name': base_name, 'split': 'train', 'weight': 1.0}],
            'num_examples': num_examples, 'seed': seed + repeat}

  base = bases_lib.open_base(subsets.as_spec(spec(0)).sources[0], data_dir)

  def index(repeat: int) -> None:
    del repeat
    if os.path.exists(bases_lib.label_index_path(base)):
      os.remove(bases_lib.label_index_path(base))
    bases_lib.base_labels(base)

  def materialize(repeat: int) -> None:
    name = subsets.materialize(spec(repeat), data_dir)
    shutil.rmtree(os.path.dirname(subsets.subset_dir(name, data_dir)))  # Keep the disk tidy.

  index(0)
  hierarchy = hierarchy_lib.load_hierarchy(base_name, data_dir)
  (quota,) = select_lib.quotas(subsets.as_spec(spec(0)))
  ids = select_lib.select(bases_lib.fine_labels(base, hierarchy), hierarchy, quota).record_ids
  encoded = builder.as_data_source('train', decoders={'image': tfds.decode.SkipDecoding()})
  decoded = builder.as_data_source('train')
  record_bytes = builder.info.splits['train'].num_bytes / base.num_records
  write_path = os.path.join(data_dir, 'write_test.bin')
  best = _best_records_per_second({
      'index': (index, base.num_records),
      'read': (lambda r: _read_all(encoded, ids), len(ids)),
      'read_decoded': (lambda r: _read_all(decoded, ids[:2000]), min(2000, len(ids))),
      'materialize': (materialize, num_examples),
      # Plain file writes of as many bytes as the copy writes: the I/O ceiling.
      'write': (lambda r: _write_file(write_path, int(record_bytes * num_examples)), num_examples),
  }, repeats)
  read_rps, copy_rps, write_rps = best['read'], best['materialize'], best['write']
  return {'base': base_name, 'num_examples': num_examples,
          'image_size': builder.info.features['image'].shape[0],
          'record_bytes': round(record_bytes), 'repeats': repeats,
          'tfds_read_rps': read_rps, 'tfds_read_decoded_rps': best['read_decoded'],
          'label_index_rps': best['index'], 'materialize_rps': copy_rps,
          'materialize_mb_s': copy_rps * record_bytes / 1e6,
          'file_write_mb_s': write_rps * record_bytes / 1e6,
          'copy_vs_read_ratio': copy_rps / read_rps,
          'copy_vs_file_write_ratio': copy_rps / write_rps}


def _table(figures: dict[str, float]) -> str:
  rows = [('plain tfds read, images encoded', figures['tfds_read_rps']),
          ('plain tfds read, images decoded', figures['tfds_read_decoded_rps']),
          ('label index pass (once per base)', figures['label_index_rps']),
          ('materialize subset (select + copy + write)', figures['materialize_rps'])]
  lines = [f'subset of {figures["num_examples"]} records of {figures["base"]} '
           f'({figures["image_size"]}px, {figures["record_bytes"]} bytes/record), '
           f'best of {figures["repeats"]}',
           f'{"":<44} {"records/s":>10}']
  lines += [f'{label:<44} {value:>10.0f}' for label, value in rows]
  lines.append(f'materialize writes {figures["materialize_mb_s"]:.0f} MB/s; plain file writes '
               f'of the same bytes {figures["file_write_mb_s"]:.0f} MB/s')
  for ratio in ('copy_vs_read_ratio', 'copy_vs_file_write_ratio'):
    lines.append(f'{ratio:<44} {figures[ratio]:>10.2f}')
  return '\n'.join(lines)


def main(argv: Sequence[str]) -> None:
  """Parses the flags in this module's docstring and prints the figures."""
  parser = argparse.ArgumentParser(prog='python -m jaxrobust.bench subsets')
  parser.add_argument('--json', action='store_true', help='end with one JSON line')
  parser.add_argument('--num_examples', type=int, default=20_000)
  parser.add_argument('--image_size', type=int, default=64)
  parser.add_argument('--repeats', type=int, default=3, help='timings per figure (best kept)')
  parser.add_argument('--base', default=None,
                      help='a TFDS base, e.g. fractal_hierarchy/medium (default: synthetic)')
  parser.add_argument('--data_dir', default=None, help='keep the base here (default: temp)')
  args = parser.parse_args(argv)
  data_dir = args.data_dir or tempfile.mkdtemp(prefix='subset_bench_')
  try:
    figures = run(args.num_examples, args.image_size, data_dir, args.repeats, args.base)
  finally:
    if not args.data_dir:
      shutil.rmtree(data_dir, ignore_errors=True)
  print(_table(figures))
  if args.json:
    print(json.dumps(figures))


if __name__ == '__main__':
  main(sys.argv[1:])
