"""Per-example grain transforms: decode, crop/resize, flip (module level so workers can import them).

Every transform returns `{'image': uint8 [S, S, 3], 'label': int32, 'mask': bool}`; images
stay uint8 on the host (4x less to copy) and are normalized on the device
(`jaxrobust.train.step.normalize_images`). `mask` is False for padding and for images that could not be decoded,
which the train loss and the evaluation leave out.
"""
from collections.abc import Callable
import dataclasses
import io
import math

from absl import logging
import cv2
import grain
import numpy as np
from PIL import Image

TRAIN_MODES = ('random_resized_crop', 'resize')
EVAL_MODES = ('resize_center_crop', 'resize')
CENTER_CROP_FRACTION = 0.875  # resize the short side to size / 0.875, then crop `size`
RRC_SCALE = (0.08, 1.0)
RRC_LOG_RATIO = (np.log(3 / 4), np.log(4 / 3))
Box = tuple[int, int, int, int]  # left, top, right, bottom
# OpenCV's RGB decode flags per DCT scale (IMREAD_REDUCED_GRAYSCALE_N holds only the scale bits).
_CV2_SCALED_DECODE = {1: cv2.IMREAD_COLOR_RGB,
                      2: cv2.IMREAD_REDUCED_GRAYSCALE_2 | cv2.IMREAD_COLOR_RGB,
                      4: cv2.IMREAD_REDUCED_GRAYSCALE_4 | cv2.IMREAD_COLOR_RGB,
                      8: cv2.IMREAD_REDUCED_GRAYSCALE_8 | cv2.IMREAD_COLOR_RGB}
# Each image is one call from a grain thread or worker: OpenCV's own thread pool would only
# oversubscribe the cores those already use.
cv2.setNumThreads(1)


def _decoded_pixels(image: Image.Image, data: bytes, scale: int) -> np.ndarray:
  """The pixels of `image` (opened from `data`, drafted to 1/`scale`) as uint8 [H, W, 3].

  RGB and grayscale JPEGs are decoded by OpenCV: the same libjpeg-turbo work, bit-identical
  pixels at every DCT scale, faster, with the GIL released; it returns None for a file cut
  short. PNG, CMYK and the rest go through PIL, which raises on data it cannot decode.
  """
  if image.format == 'JPEG' and image.mode in ('RGB', 'L'):
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8),
                          _CV2_SCALED_DECODE[scale] | cv2.IMREAD_IGNORE_ORIENTATION)
    if pixels is None:
      raise ValueError('JPEG data could not be decoded')
    return pixels
  return np.asarray(image.convert('RGB'))


def decode_crop_resize(data: bytes, size: int, crop_box: Callable[[int, int], Box | None],
                       *, antialias: bool = True) -> np.ndarray:
  """Encoded image -> the box `crop_box(width, height)` (None: all of it), uint8 [size, size, 3].

  The box is chosen from the header's size before any pixel is decoded, so a JPEG is
  decoded at the largest power-of-two reduction (libjpeg DCT scaling, PIL `draft`) that
  still leaves the box at least `size` pixels on its short side: the same output
  resolution for a fraction of the decode time.

  `antialias=True` resizes with PIL's bilinear filter, widened when shrinking (evaluation
  and plain resizes). `antialias=False` interpolates the crop bilinearly without widening
  the filter (OpenCV), the work of Inception-style random-resized-crop pipelines
  (tf.data's `tf.image.resize`); at a reduced DCT scale the box is rounded to whole pixels.
  """
  image = Image.open(io.BytesIO(data))
  width, height = image.size
  box = crop_box(width, height) or (0, 0, width, height)
  reduction = min(box[2] - box[0], box[3] - box[1]) / size
  scale = 1
  if image.format == 'JPEG' and reduction >= 2:
    drafted = image.draft('RGB', (math.ceil(width / reduction), math.ceil(height / reduction)))
    scale = round(width / drafted[1][2]) if drafted else 1
  pixels = _decoded_pixels(image, data, scale)
  scale_x, scale_y = pixels.shape[1] / width, pixels.shape[0] / height
  box = (box[0] * scale_x, box[1] * scale_y, box[2] * scale_x, box[3] * scale_y)
  if antialias:
    return np.asarray(Image.fromarray(pixels).resize((size, size), Image.BILINEAR, box=box))
  # Whole pixels at scale 1; at a reduced scale the box still spans >= `size` pixels.
  left, top, right, bottom = (round(v) for v in box)
  return cv2.resize(pixels[top:bottom, left:right], (size, size),
                    interpolation=cv2.INTER_LINEAR)


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


def _example(image: np.ndarray | None, label, size: int) -> dict[str, np.ndarray]:
  if image is None:
    return {'image': np.zeros((size, size, 3), np.uint8),
            'label': np.int32(-1), 'mask': np.bool_(False)}
  return {'image': image, 'label': np.int32(label), 'mask': np.bool_(True)}


def _decode_or_none(features, image_key: str, size: int,
                    crop_box: Callable[[int, int], Box | None], antialias: bool = True
                    ) -> np.ndarray | None:
  """The record's image as uint8 [size, size, 3]; None for padding or an undecodable image.

  An image a `DecodedSplit` already decoded (an array) is passed through.
  """
  data = features.get(image_key)
  if data is None or isinstance(data, np.ndarray):  # evaluation padding / already decoded
    return data
  try:
    return decode_crop_resize(data, size, crop_box, antialias=antialias)
  except (OSError, ValueError, cv2.error, Image.DecompressionBombError) as e:
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

  @property
  def deterministic_decode(self) -> bool:
    """True when `decode` draws nothing (a plain resize): its output can be cached."""
    return self.mode == 'resize'

  def decode(self, features, rng: np.random.Generator | None = None) -> np.ndarray | None:
    """The decoded, cropped and resized image (`rng` picks the crop), or None."""
    if self.mode == 'random_resized_crop':
      crop_box = lambda width, height: random_resized_crop_box(width, height, rng)
      return _decode_or_none(features, self.image_key, self.image_size, crop_box,
                             antialias=False)
    return _decode_or_none(features, self.image_key, self.image_size, lambda w, h: None)

  def random_map(self, features, rng: np.random.Generator):
    image = self.decode(features, rng)
    if image is not None and self.flip and rng.random() < 0.5:
      image = cv2.flip(image, 1)  # a contiguous copy: batching a reversed view is 20x slower
    return _example(image, features.get(self.label_key), self.image_size)


@dataclasses.dataclass(frozen=True)
class EvalPreprocess(grain.transforms.Map):
  """Decode + resize-and-center-crop, or WILDS-style plain resize to a square."""
  image_size: int
  mode: str = 'resize_center_crop'
  image_key: str = 'image'
  label_key: str = 'label'
  deterministic_decode = True

  def __post_init__(self):
    if self.mode not in EVAL_MODES:
      raise ValueError(f'config.data.eval_preprocess={self.mode!r}; use one of {EVAL_MODES}.')

  def decode(self, features) -> np.ndarray | None:
    """The decoded, cropped and resized image, or None."""
    if self.mode == 'resize_center_crop':
      crop_box = lambda width, height: center_crop_box(width, height, CENTER_CROP_FRACTION)
    else:
      crop_box = lambda width, height: None
    return _decode_or_none(features, self.image_key, self.image_size, crop_box)

  def map(self, features):
    return _example(self.decode(features), features.get(self.label_key), self.image_size)
