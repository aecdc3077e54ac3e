"""Input-pipeline throughput: the engine's grain pipeline against tf.data on the same records.

  python -m jaxrobust.bench input [--json] [--num_images=2000] [--timed_images=1024]
      [--cores=1,2,4,..,N] [--threads_per_core=2] [--rounds=3] [--image_size=224]
      [--batch=64] [--pipelines=tfdata,engine_threads,...] [--data_dir=DIR]

Generates `num_images` ImageNet-like JPEGs (sides drawn from 256-500 px, quality 90) as a
TFDS dataset in array_record format (kept in `--data_dir` when given), writes the same
bytes into a TFRecord, then alternates, for `rounds` rounds and each core count c of
`--cores` (default: 1, 2, 4, ... and all N cores), with the whole process (and the grain
workers it starts) pinned to c cores and each pipeline given T = c x `threads_per_core`
threads:
  - tf.data: decode_and_crop_jpeg in a sampled Inception box, bilinear resize, flip, batch,
    with T parallel calls on a private pool of T threads (`_tfdata_inception`);
  - the engine's pipeline (`pipeline.train_dataset` + `preprocess.TrainPreprocess`: the
    same boxes, decode, bilinear resize, flip, batch) with T read threads in this
    process (`engine_threads`: `num_workers=0`, `prefetch=T`) or c grain worker processes
    of `threads_per_core` read threads each (`engine_workers`).
Figures: steady-state images/s (`timed_images` per measurement, timed after as many
untimed ones: `bench.steady_images_per_second`), medians over the rounds.
`input_vs_tfdata_ratio` = the faster engine pipeline over tf.data at the largest core count
(>1: the engine is faster); each row has its `vs_tfdata_ratio`.
"""
import argparse
from collections.abc import Sequence
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import tensorflow_datasets as tfds

from jaxrobust import bench
from jaxrobust.bench import _tfdata_inception
from jaxrobust.input import loading
from jaxrobust.input import pipeline
from jaxrobust.input import preprocess
from jaxrobust.datasets import toy

SIDE_RANGE = (256, 500)
PIPELINES = ('tfdata', 'engine_threads', 'engine_workers')


class ImagenetLikeJpegs(toy.ToyImages):
  """JPEGs of ImageNet-like sizes (each side 256-500 px): smooth colour fields plus noise."""

  NUM_CLASSES = 1000
  SPLITS = {'train': 2000}
  ENCODING = 'jpeg'

  def render(self, label: int, rng: np.random.Generator) -> np.ndarray:
    del label
    width, height = rng.integers(SIDE_RANGE[0], SIDE_RANGE[1] + 1, 2)
    yy, xx = np.mgrid[0:height, 0:width] / max(width, height)
    phase, freq = rng.uniform(0, 2 * np.pi, 3), rng.uniform(2, 12, 2)
    field = 0.5 + 0.4 * np.sin(freq[0] * xx[..., None] + freq[1] * yy[..., None] + phase)
    return np.clip(field * 255 + rng.normal(0, 12, field.shape), 0, 255).astype(np.uint8)


def _prepared_source(data_dir: str, num_images: int):
  """The records of `num_images` generated JPEGs (built once per count under `data_dir`)."""
  builder = ImagenetLikeJpegs(data_dir=os.path.join(data_dir, f'{num_images}_images'),
                              file_format='array_record')
  builder.SPLITS = {'train': num_images}
  if not builder.is_prepared():
    builder.download_and_prepare()
  return loading.open_split(builder, 'train')


def engine_images_per_second(source, *, size: int, batch_size: int, num_workers: int,
                             threads: int, num_images: int) -> float:
  """Steady-state images/s of `pipeline.train_dataset` + `TrainPreprocess`."""
  batches = max(num_images // batch_size, 1)
  ds = pipeline.train_dataset(source, preprocess.TrainPreprocess(image_size=size), seed=0,
                              global_batch_size=batch_size, num_steps=2 * batches)
  iterator = pipeline.make_iterator(ds, num_workers=num_workers, prefetch=threads)
  rate = bench.steady_images_per_second(lambda: next(iterator), batch_size=batch_size,
                                        batches=batches)
  iterator.close()  # stops grain's workers now, not at garbage collection
  return rate


def default_cores() -> list[int]:
  """1, 2, 4, ... up to the machine's cores, and its core count itself."""
  count = os.cpu_count() or 1
  return sorted({2**k for k in range(count.bit_length()) if 2**k <= count} | {count})


def pin_to_cores(count: int) -> None:
  """Runs every thread of this process (and what they start later) on the first `count` cores."""
  cores = sorted(os.sched_getaffinity(0) | set(range(os.cpu_count() or 1)))[:count]
  for thread in os.listdir('/proc/self/task'):
    try:
      os.sched_setaffinity(int(thread), cores)
    except ProcessLookupError:  # the thread ended meanwhile
      pass


def run(*, num_images: int, timed_images: int, cores: Sequence[int], threads_per_core: int,
        rounds: int, size: int, batch_size: int, data_dir: str,
        names: Sequence[str] = PIPELINES) -> dict:
  """Alternates the pipelines for `rounds` rounds; returns the medians per core count."""
  tfds.disable_progress_bar()
  source = _prepared_source(data_dir, num_images)
  tfrecord = os.path.join(data_dir, 'bench_input.tfrecord')
  _tfdata_inception.write_tfrecord(tfrecord, (source[i] for i in range(len(source))))
  common = {'size': size, 'batch_size': batch_size, 'num_images': timed_images}

  pipelines = {
      'tfdata': lambda c: _tfdata_inception.images_per_second(
          tfrecord, threads=c * threads_per_core, **common),
      'engine_threads': lambda c: engine_images_per_second(
          source, num_workers=0, threads=c * threads_per_core, **common),
      'engine_workers': lambda c: engine_images_per_second(
          source, num_workers=c, threads=threads_per_core, **common),
  }
  pipelines = {name: pipelines[name] for name in names}
  samples = {(name, c): [] for name in pipelines for c in cores}
  for _ in range(rounds):
    for c in cores:
      pin_to_cores(c)
      for name, measure in pipelines.items():
        samples[name, c].append(measure(c))
  pin_to_cores(os.cpu_count() or 1)
  rows = []
  for c in cores:
    row = {'cores': c, 'threads': c * threads_per_core,
           **{f'{name}_images_per_s': round(statistics.median(samples[name, c]), 1)
              for name in pipelines}}
    row['engine_best'] = max((n for n in pipelines if n != 'tfdata'),
                             key=lambda name: row[f'{name}_images_per_s'])
    row['vs_tfdata_ratio'] = round(
        row[f'{row["engine_best"]}_images_per_s'] / row['tfdata_images_per_s'], 3)
    rows.append(row)
  return {'num_images': len(source), 'image_size': size, 'batch': batch_size,
          'rounds': rounds, 'cpu_count': os.cpu_count(), 'threads_per_core': threads_per_core,
          'samples': {f'{name}@{c}': [round(s, 1) for s in v] for (name, c), v in samples.items()},
          'rows': rows, 'input_vs_tfdata_ratio': rows[-1]['vs_tfdata_ratio']}


def main(argv: Sequence[str]) -> None:
  """Parses the flags in the module docstring, runs, prints the table (and JSON)."""
  parser = argparse.ArgumentParser(prog='python -m jaxrobust.bench input')
  parser.add_argument('--json', action='store_true', help='end with one JSON line')
  parser.add_argument('--num_images', type=int, default=ImagenetLikeJpegs.SPLITS['train'])
  parser.add_argument('--timed_images', type=int, default=1024,
                      help='images timed per pipeline, core count and round')
  parser.add_argument('--cores', default=','.join(map(str, default_cores())),
                      help='core counts to compare at')
  parser.add_argument('--threads_per_core', type=int, default=2,
                      help='threads each pipeline gets per core (tf.data and the engine alike)')
  parser.add_argument('--rounds', type=int, default=3)
  parser.add_argument('--image_size', type=int, default=224)
  parser.add_argument('--batch', type=int, default=64)
  parser.add_argument('--data_dir', default=None, help='keep the generated records here')
  parser.add_argument('--pipelines', default=','.join(PIPELINES),
                      help='which of them to time (tfdata and at least one engine_*)')
  args = parser.parse_args(argv)
  with tempfile.TemporaryDirectory() as scratch:
    figures = run(num_images=args.num_images, timed_images=args.timed_images, cores=[int(c) for c in args.cores.split(',')],
                  threads_per_core=args.threads_per_core, rounds=args.rounds,
                  size=args.image_size, batch_size=args.batch, data_dir=args.data_dir or scratch,
                  names=args.pipelines.split(','))
  print(f'Decode + random-resized-crop to {args.image_size} + flip, batch {args.batch}, '
        f'{figures["num_images"]} JPEGs of {SIDE_RANGE[0]}-{SIDE_RANGE[1]} px; images/s, '
        f'median of {args.rounds} rounds')
  columns = ('cores', 'threads', *(f'{n}_images_per_s' for n in args.pipelines.split(',')),
             'engine_best', 'vs_tfdata_ratio')
  print('  '.join(f'{c.replace("_images_per_s", ""):>20}' for c in columns))
  for row in figures['rows']:
    print('  '.join(f'{row[c]!s:>20}' for c in columns))
  print(f'input_vs_tfdata_ratio at {figures["rows"][-1]["cores"]} cores: '
        f'{figures["input_vs_tfdata_ratio"]}')
  if args.json:
    print(json.dumps(figures))


if __name__ == '__main__':
  main(sys.argv[1:])
