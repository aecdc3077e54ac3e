"""Toy TFDS image datasets (PNG, array_record) that tiny models learn in a few steps.

`tiny_images` (engine tests): 4 classes at 20 px, splits `train` (96) and `test` (37: not a
multiple of any batch size the tests use); class k is a bright square at a class-specific
position over noise. `ft_pretrain_images` (fine-tune tests): 5 classes at 16 px, 80 train
images; class 4 adds a white centre square.
"""
import numpy as np

from jaxrobust.datasets import toy


def _square_image(size: int, label: int, noise: int, rng: np.random.Generator) -> np.ndarray:
  """Noise with a bright square whose quadrant (label % 4) and channel (label % 3) give the class."""
  image = rng.integers(0, noise, (size, size, 3), dtype=np.uint8)
  row, col = divmod(label % 4, 2)
  half = size // 2
  image[row * half:(row + 1) * half, col * half:(col + 1) * half, label % 3] = 250
  return image


class TinyImages(toy.ToyImages):
  """Four-class toy images for engine tests."""

  NUM_CLASSES = 4
  SPLITS = {'train': 96, 'test': 37}
  IMAGE_SIZE = 20

  def render(self, label: int, rng: np.random.Generator) -> np.ndarray:
    return _square_image(self.IMAGE_SIZE, label, 80, rng)

  def example_key(self, split: str, index: int) -> str:
    return f'{split}_{index}'


class FtPretrainImages(toy.ToyImages):
  """Five-class toy images to pre-train on."""

  NUM_CLASSES = 5
  SPLITS = {'train': 80}
  IMAGE_SIZE = 16

  def render(self, label: int, rng: np.random.Generator) -> np.ndarray:
    image = _square_image(self.IMAGE_SIZE, label, 60, rng)
    if label >= 4:
      half = self.IMAGE_SIZE // 2
      image[half - 3:half + 3, half - 3:half + 3] = 255
    return image
