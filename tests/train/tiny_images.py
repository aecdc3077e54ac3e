"""A tiny TFDS image-classification dataset (PNG-encoded, array_record) for engine tests.

Class k is a bright square at a class-specific position over noise, so a tiny ResNet
can learn it in a few steps. Splits: `train` (96 examples) and `test` (37: not a
multiple of any batch size the tests use).
"""
import io

import numpy as np
from PIL import Image
import tensorflow_datasets as tfds

NUM_CLASSES = 4
SPLIT_SIZES = {'train': 96, 'test': 37}
IMAGE_SIZE = 20


def _png(image: np.ndarray) -> bytes:
  buffer = io.BytesIO()
  Image.fromarray(image).save(buffer, format='PNG')
  return buffer.getvalue()


def render(label: int, rng: np.random.Generator) -> np.ndarray:
  """One uint8 RGB image of class `label`."""
  image = rng.integers(0, 80, (IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
  row, col = divmod(label, 2)
  half = IMAGE_SIZE // 2
  image[row * half:(row + 1) * half, col * half:(col + 1) * half, label % 3] = 250
  return image


class TinyImages(tfds.core.GeneratorBasedBuilder):
  """Four-class toy images for engine tests."""

  VERSION = tfds.core.Version('1.0.0')

  def _info(self) -> tfds.core.DatasetInfo:
    return tfds.core.DatasetInfo(
        builder=self,
        features=tfds.features.FeaturesDict({
            'image': tfds.features.Image(shape=(None, None, 3), encoding_format='png'),
            'label': tfds.features.ClassLabel(num_classes=NUM_CLASSES),
        }),
        supervised_keys=('image', 'label'))

  def _split_generators(self, dl_manager):
    del dl_manager
    return {split: self._generate_examples(split, size)
            for split, size in SPLIT_SIZES.items()}

  def _generate_examples(self, split: str, size: int):
    rng = np.random.default_rng(0 if split == 'train' else 1)
    for i in range(size):
      label = i % NUM_CLASSES
      yield f'{split}_{i}', {'image': _png(render(label, rng)), 'label': label}
