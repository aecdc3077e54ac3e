"""Generated toy image-classification datasets (TFDS, array_record) for tests and benchmarks.

A subclass sets its classes, splits and encoding and draws each image (`render`); the
records are `{'image': encoded bytes, 'label': i % NUM_CLASSES}`, split s drawn from
`np.random.default_rng(s's position in SPLITS)`. Registered under the subclass's snake-case
name, e.g. `TinyImages` -> `tiny_images`.
"""
import abc
from collections.abc import Iterator

import numpy as np
import tensorflow_datasets as tfds

from jaxrobust.datasets.builders import encode_image


class ToyImages(tfds.core.GeneratorBasedBuilder, abc.ABC):
  """Base of the toy datasets: one image per index, labels cycling over the classes."""

  VERSION = tfds.core.Version('1.0.0')
  NUM_CLASSES: int = 2
  SPLITS: dict[str, int] = {'train': 8}   # split -> number of examples
  ENCODING = 'png'                       # | 'jpeg'

  @abc.abstractmethod
  def render(self, label: int, rng: np.random.Generator) -> np.ndarray:
    """One uint8 HxWx3 image of class `label`."""

  def example_key(self, split: str, index: int) -> str | int:
    """The TFDS key of example `index` of `split` (it fixes the order on disk)."""
    del split
    return index

  def _info(self) -> tfds.core.DatasetInfo:
    return tfds.core.DatasetInfo(
        builder=self,
        features=tfds.features.FeaturesDict({
            'image': tfds.features.Image(shape=(None, None, 3), encoding_format=self.ENCODING),
            'label': tfds.features.ClassLabel(num_classes=self.NUM_CLASSES)}))

  def _split_generators(self, dl_manager):
    del dl_manager
    return {split: self._generate_examples(split) for split in self.SPLITS}

  def _generate_examples(self, split: str) -> Iterator[tuple[str | int, dict]]:
    rng = np.random.default_rng(list(self.SPLITS).index(split))
    for i in range(self.SPLITS[split]):
      label = i % self.NUM_CLASSES
      yield self.example_key(split, i), {
          'image': encode_image(self.render(label, rng), self.ENCODING), 'label': label}
