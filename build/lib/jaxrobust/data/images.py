"""Encoded images from the user's downloads: validate, optionally resize, record what was skipped.

A corrupt, truncated or missing image is never fatal: builders skip it, log it and list it
in the dataset metadata (`skipped_images`, `num_skipped_images` in metadata.json).
"""
from __future__ import annotations

from collections.abc import MutableMapping
import io

from absl import logging
from PIL import Image

SKIPPED_KEY = 'skipped_images'
NUM_SKIPPED_KEY = 'num_skipped_images'


class CorruptImageError(ValueError):
  """The bytes are not a fully decodable image."""


def decode_image(data: bytes, *, draft_size: tuple[int, int] | None = None) -> Image.Image:
  """Fully decodes `data` (JPEG at a scale still >= `draft_size`); raises CorruptImageError."""
  try:
    image = Image.open(io.BytesIO(data))
    if draft_size is not None and image.format == 'JPEG':
      image.draft('RGB', draft_size)  # DCT-domain downscale: decodes all data, much faster.
    image.load()  # Truncated files fail here, not at open().
    return image
  except Exception as e:  # PIL raises OSError, SyntaxError, ValueError, ... for bad data.
    raise CorruptImageError(f'{type(e).__name__}: {e}') from None


def checked_image(data: bytes | None) -> bytes:
  """`data` unchanged (never re-encoded) if it is a complete image; raises CorruptImageError."""
  if data is None:
    raise CorruptImageError('missing: listed in the annotations but not found')
  image = decode_image(data, draft_size=(1, 1))
  if image.format not in ('JPEG', 'PNG'):
    raise CorruptImageError(f'unsupported format {image.format}; expected JPEG or PNG')
  return data


def resize_to_jpeg(data: bytes | None, size: tuple[int, int], quality: int = 95) -> bytes:
  """`data` decoded, converted to RGB, resized to `size` (width, height) and JPEG-encoded."""
  if data is None:
    raise CorruptImageError('missing: listed in the annotations but not found')
  image = decode_image(data, draft_size=size).convert('RGB')
  image = image.resize(size, Image.BILINEAR)
  out = io.BytesIO()
  image.save(out, format='JPEG', quality=quality)
  return out.getvalue()


def record_skipped(metadata: MutableMapping, split: str, name: str, reason: str) -> None:
  """Logs a skipped image and adds it to the dataset metadata's skip list and count."""
  logging.warning('Skipping image %s of split %s: %s', name, split, reason)
  skipped = metadata.setdefault(SKIPPED_KEY, [])
  skipped.append({'split': split, 'file': name, 'reason': reason})
  metadata[NUM_SKIPPED_KEY] = len(skipped)
