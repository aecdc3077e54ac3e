"""Per-example grain transforms: decode, crop/resize, flip (module level so workers can import them).

Every transform returns `{'image': uint8 [S, S, 3], 'label': int32, 'mask': bool}`; images
stay uint8 on the host (4x less to copy) and are normalized on the device
(`normalize_images`). `mask` is False for padding and for images that could not be decoded,
which the train loss and the evaluation leave out.
"""
import dataclasses
import io

from absl import logging
import grain
import jax.numpy as jnp
import numpy as np
from PIL import Image

TRAIN_MODES = ('random_resized_crop', 'resize')
EVAL_MODES = ('resize_center_crop', 'resize')
# (mean, std) per channel, on the 0-255 scale.
NORMALIZATIONS = {
    'imagenet': ((0.485 * 255, 0.456 * 255, 0.406 * 255),
                 (0.229 * 255, 0.224 * 255, 0.225 * 255)),
    'centered': ((127.5, 127.5, 127.5), (127.5, 127.5, 127.5)),
    'none': ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
}
CENTER_CROP_FRACTION = 0.875  # resize the short side to size / 0.875, then crop `size`
RRC_SCALE = (0.08, 1.0)
RRC_LOG_RATIO = (np.log(3 / 4), np.log(4 / 3))


def normalize_images(images: jnp.ndarray, normalization: str,
                     dtype: jnp.dtype = jnp.float32) -> jnp.ndarray:
  """uint8 NHWC images -> normalized float images (runs on the device, inside the step)."""
  mean, std = NORMALIZATIONS[normalization]
  images = images.astype(jnp.float32)
  return ((images - jnp.asarray(mean)) / jnp.asarray(std)).astype(dtype)


def decode(data: bytes, draft_size: int | None = None) -> Image.Image:
  """Encoded image bytes -> RGB PIL image; JPEGs are decoded at reduced scale when allowed.

  `draft_size`: the smallest (short side) size the caller needs; libjpeg then decodes at
  the largest power-of-two reduction that still covers it, which is much faster.
  """
  image = Image.open(io.BytesIO(data))
  if draft_size is not None and image.format == 'JPEG':
    scale = min(image.size) / draft_size
    if scale >= 2:
      image.draft('RGB', (int(image.size[0] / scale) + 1, int(image.size[1] / scale) + 1))
  return image.convert('RGB')


def random_resized_crop_box(width: int, height: int, rng: np.random.Generator
                            ) -> tuple[int, int, int, int]:
  """Inception-style crop box (left, top, right, bottom): 8%-100% area, 3/4-4/3 aspect."""
  area = width * height
  for _ in range(10):
    target_area = area * rng.uniform(*RRC_SCALE)
    ratio = np.exp(rng.uniform(*RRC_LOG_RATIO))
    w = int(round(np.sqrt(target_area * ratio)))
    h = int(round(np.sqrt(target_area / ratio)))
    if 0 < w <= width and 0 < h <= height:
      left = int(rng.integers(0, width - w + 1))
      top = int(rng.integers(0, height - h + 1))
      return left, top, left + w, top + h
  # Fallback: the largest central crop with an aspect ratio inside the range.
  ratio = width / height
  lo, hi = np.exp(RRC_LOG_RATIO[0]), np.exp(RRC_LOG_RATIO[1])
  if ratio < lo:
    w, h = width, int(round(width / lo))
  elif ratio > hi:
    w, h = int(round(height * hi)), height
  else:
    w, h = width, height
  left, top = (width - w) // 2, (height - h) // 2
  return left, top, left + w, top + h


def center_crop_box(width: int, height: int, crop_fraction: float
                    ) -> tuple[int, int, int, int]:
  """The central square covering `crop_fraction` of the short side."""
  side = int(round(min(width, height) * crop_fraction))
  left, top = (width - side) // 2, (height - side) // 2
  return left, top, left + side, top + side


def _example(image: Image.Image | None, label, size: int) -> dict[str, np.ndarray]:
  if image is None:
    return {'image': np.zeros((size, size, 3), np.uint8),
            'label': np.int32(-1), 'mask': np.bool_(False)}
  return {'image': np.asarray(image, dtype=np.uint8), 'label': np.int32(label),
          'mask': np.bool_(True)}


def _decode_or_none(features, image_key: str, draft_size: int | None):
  data = features.get(image_key)
  if data is None:  # evaluation padding
    return None
  try:
    return decode(data, draft_size)
  except (OSError, ValueError, Image.DecompressionBombError) as e:
    logging.warning('Skipping an image that cannot be decoded: %s', e)
    return None


@dataclasses.dataclass(frozen=True)
class TrainPreprocess(grain.transforms.RandomMap):
  """Decode + random-resized-crop (or plain square resize) + optional horizontal flip."""
  image_size: int
  mode: str = 'random_resized_crop'
  flip: bool = True
  image_key: str = 'image'
  label_key: str = 'label'

  def __post_init__(self):
    if self.mode not in TRAIN_MODES:
      raise ValueError(f'config.data.train_preprocess={self.mode!r}; use one of {TRAIN_MODES}.')

  def random_map(self, features, rng: np.random.Generator):
    # A random-resized crop may keep only 8% of the area: decode at full resolution.
    draft = self.image_size if self.mode == 'resize' else None
    image = _decode_or_none(features, self.image_key, draft)
    if image is not None:
      box = (random_resized_crop_box(*image.size, rng)
             if self.mode == 'random_resized_crop' else None)
      image = image.resize((self.image_size, self.image_size), Image.BILINEAR, box=box)
      if self.flip and rng.random() < 0.5:
        image = image.transpose(Image.FLIP_LEFT_RIGHT)
    return _example(image, features.get(self.label_key), self.image_size)


@dataclasses.dataclass(frozen=True)
class EvalPreprocess(grain.transforms.Map):
  """Decode + resize-and-center-crop, or WILDS-style plain resize to a square."""
  image_size: int
  mode: str = 'resize_center_crop'
  image_key: str = 'image'
  label_key: str = 'label'

  def __post_init__(self):
    if self.mode not in EVAL_MODES:
      raise ValueError(f'config.data.eval_preprocess={self.mode!r}; use one of {EVAL_MODES}.')

  def map(self, features):
    crop = self.mode == 'resize_center_crop'
    draft = int(np.ceil(self.image_size / CENTER_CROP_FRACTION)) if crop else self.image_size
    image = _decode_or_none(features, self.image_key, draft)
    if image is not None:
      box = (center_crop_box(*image.size, CENTER_CROP_FRACTION)
             if crop else None)
      image = image.resize((self.image_size, self.image_size), Image.BILINEAR, box=box)
    return _example(image, features.get(self.label_key), self.image_size)
