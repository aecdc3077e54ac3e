"""The tf.data reference of `bench input`: the same JPEG bytes in a TFRecord, decoded the usual way.

`decode_and_crop_jpeg` inside a `sample_distorted_bounding_box` crop (8%-100% area, 3/4-4/3
aspect, 10 attempts), bilinear resize, random flip, uint8, batches: the work
`preprocess.TrainPreprocess` does, written as TF's own ImageNet input pipelines write it.
"""
from collections.abc import Iterable

import tensorflow as tf

from jaxrobust import bench
from jaxrobust.input import preprocess

_FEATURES = {'image': tf.io.FixedLenFeature([], tf.string),
             'label': tf.io.FixedLenFeature([], tf.int64)}


def write_tfrecord(path: str, records: Iterable[dict]) -> None:
  """Writes each record's encoded `image` bytes and `label` as one tf.train.Example."""
  with tf.io.TFRecordWriter(path) as writer:
    for record in records:
      example = tf.train.Example(features=tf.train.Features(feature={
          'image': tf.train.Feature(bytes_list=tf.train.BytesList(value=[record['image']])),
          'label': tf.train.Feature(int64_list=tf.train.Int64List(value=[int(record['label'])]))}))
      writer.write(example.SerializeToString())


def _train_example(serialized: tf.Tensor, size: int) -> dict[str, tf.Tensor]:
  features = tf.io.parse_single_example(serialized, _FEATURES)
  data = features['image']
  begin, crop_size, _ = tf.image.sample_distorted_bounding_box(
      tf.image.extract_jpeg_shape(data), tf.zeros([0, 0, 4], tf.float32),
      area_range=preprocess.RRC_SCALE,
      aspect_ratio_range=(3 / 4, 4 / 3), max_attempts=10, use_image_if_no_bounding_boxes=True)
  window = tf.stack([begin[0], begin[1], crop_size[0], crop_size[1]])
  image = tf.io.decode_and_crop_jpeg(data, window, channels=3)
  image = tf.image.resize(image, (size, size), method='bilinear')
  image = tf.image.random_flip_left_right(image)
  return {'image': tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8),
          'label': tf.cast(features['label'], tf.int32)}


def images_per_second(path: str, *, size: int, batch_size: int, threads: int,
                      num_images: int) -> float:
  """Steady-state images/s of the pipeline on `threads` threads (`num_images` timed)."""
  options = tf.data.Options()
  options.threading.private_threadpool_size = threads
  ds = (tf.data.TFRecordDataset(path).repeat().shuffle(1024, seed=0)
        .map(lambda s: _train_example(s, size), num_parallel_calls=threads, deterministic=False)
        .batch(batch_size, drop_remainder=True).prefetch(2).with_options(options))
  iterator = iter(ds)
  return bench.steady_images_per_second(lambda: next(iterator), batch_size=batch_size,
                                        batches=max(num_images // batch_size, 1))
