"""Decoding and cropping: reduced-scale JPEG decoding keeps the crop's content."""
import io

import numpy as np
from PIL import Image
import pytest

from jaxrobust.data import preprocess


def _encoded(image: np.ndarray, fmt: str) -> bytes:
  buffer = io.BytesIO()
  Image.fromarray(image).save(buffer, format=fmt, quality=95)
  return buffer.getvalue()


def _scene() -> np.ndarray:
  """512x384 image: a horizontal ramp in red, a vertical ramp in green, blue blocks."""
  yy, xx = np.mgrid[0:384, 0:512]
  image = np.stack([xx * 255 // 511, yy * 255 // 383, ((xx // 64 + yy // 64) % 2) * 255], -1)
  return image.astype(np.uint8)


@pytest.mark.parametrize('box', [(0, 0, 512, 384), (300, 40, 460, 200), (10, 200, 90, 280)])
def test_reduced_jpeg_decode_gives_the_same_crop_as_a_lossless_decode(box):
  scene = _scene()
  jpeg = preprocess.decode_crop_resize(_encoded(scene, 'JPEG'), 32, lambda w, h: box)
  png = preprocess.decode_crop_resize(_encoded(scene, 'PNG'), 32, lambda w, h: box)
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
