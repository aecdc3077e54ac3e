"""Decoding and cropping: reduced-scale JPEG decoding keeps the crop's content."""
import io
import math

import numpy as np
from PIL import Image
import pytest

from jaxrobust.input import preprocess
from tests.helpers import real_formats


def _encoded(image: np.ndarray, fmt: str) -> bytes:
  buffer = io.BytesIO()
  Image.fromarray(image).save(buffer, format=fmt, quality=95)
  return buffer.getvalue()


def _scene() -> np.ndarray:
  """512x384 image: a horizontal ramp in red, a vertical ramp in green, blue blocks."""
  yy, xx = np.mgrid[0:384, 0:512]
  image = np.stack([xx * 255 // 511, yy * 255 // 383, ((xx // 64 + yy // 64) % 2) * 255], -1)
  return image.astype(np.uint8)


@pytest.mark.parametrize('antialias', [True, False])
@pytest.mark.parametrize('box', [(0, 0, 512, 384), (300, 40, 460, 200), (10, 200, 90, 280)])
def test_reduced_jpeg_decode_gives_the_same_crop_as_a_lossless_decode(box, antialias):
  scene = _scene()
  jpeg = preprocess.decode_crop_resize(_encoded(scene, 'JPEG'), 32, lambda w, h: box,
                                       antialias=antialias)
  png = preprocess.decode_crop_resize(_encoded(scene, 'PNG'), 32, lambda w, h: box,
                                      antialias=antialias)
  difference = np.abs(np.asarray(jpeg, float) - np.asarray(png, float))
  assert difference[..., :2].mean() < 4  # the ramps (position) agree to a few levels


def test_random_resized_crop_boxes_stay_inside_and_cover_8_to_100_percent():
  rng = np.random.default_rng(0)
  for _ in range(500):
    left, top, right, bottom = preprocess.random_resized_crop_box(300, 200, rng)
    assert 0 <= left < right <= 300 and 0 <= top < bottom <= 200
    area = (right - left) * (bottom - top) / (300 * 200)
    assert 0.07 <= area <= 1.0


def test_undecodable_image_is_masked_out_not_fatal():
  transform = preprocess.EvalPreprocess(image_size=16)
  example = transform.map({'image': b'not an image', 'label': 3})
  assert not example['mask'] and example['image'].shape == (16, 16, 3)


def _pil_decode_crop_resize(data: bytes, size: int, box) -> np.ndarray:
  """PIL alone: draft, decode, antialiased bilinear resize of the box."""
  image = Image.open(io.BytesIO(data))
  width, height = image.size
  reduction = min(box[2] - box[0], box[3] - box[1]) / size
  if reduction >= 2:
    image.draft('RGB', (math.ceil(width / reduction), math.ceil(height / reduction)))
  sx, sy = image.size[0] / width, image.size[1] / height
  scaled = (box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy)
  return np.asarray(image.convert('RGB').resize((size, size), Image.BILINEAR, box=scaled))


@pytest.mark.parametrize('mode,progressive', [('RGB', False), ('RGB', True), ('L', False)])
def test_opencv_jpeg_decode_gives_pils_pixels_at_every_dct_scale(mode, progressive):
  noise = np.random.default_rng(0).integers(0, 256, (384, 512, 3), dtype=np.uint8)
  buffer = io.BytesIO()
  Image.fromarray((_scene() // 2 + noise // 2)).convert(mode).save(
      buffer, format='JPEG', quality=90, progressive=progressive)
  data, box = buffer.getvalue(), (37, 21, 501, 380)
  for size in (300, 160, 80, 40):  # DCT scales 1, 2, 4, 8
    got = preprocess.decode_crop_resize(data, size, lambda w, h: box)
    np.testing.assert_array_equal(got, _pil_decode_crop_resize(data, size, box))


def test_truncated_jpeg_is_masked_out_and_trailing_bytes_are_decoded():
  """Both go through OpenCV: a cut file must not come back as a partly grey image."""
  transform = preprocess.TrainPreprocess(image_size=16)
  rng = np.random.default_rng(0)
  assert not transform.random_map({'image': real_formats.truncated_jpeg(), 'label': 1}, rng)['mask']
  jpeg = real_formats.jpeg(64, 48)
  every_pixel = lambda w, h: None
  np.testing.assert_array_equal(
      preprocess.decode_crop_resize(jpeg + b'\0\0', 16, every_pixel),
      preprocess.decode_crop_resize(jpeg, 16, every_pixel))


def test_random_map_gives_the_crop_or_its_mirror_as_a_contiguous_array():
  data = _encoded(_scene(), 'PNG')
  transform = preprocess.TrainPreprocess(image_size=24, mode='resize')
  plain = transform.decode({'image': data})
  flips = 0
  for seed in range(8):
    image = transform.random_map({'image': data, 'label': 0}, np.random.default_rng(seed))['image']
    assert image.flags['C_CONTIGUOUS']
    flipped = bool((image != plain).any())
    np.testing.assert_array_equal(image, plain[:, ::-1] if flipped else plain)
    flips += flipped
  assert 0 < flips < 8
