"""Encoded images from the user's downloads: validate, optionally resize, record what was skipped.

A corrupt, truncated or missing training image is never fatal: builders skip it, log it and list
it in the dataset metadata (`skipped_images`, `num_skipped_images` in metadata.json). In an
evaluation split (`EVAL_SPLITS`) every model is compared on those images, so a skip stops the
build (`check_eval_split`) unless the user opts in; the study then records the skip in every
result.json and the report.
"""
from __future__ import annotations

from collections.abc import MutableMapping
import io

from absl import logging
from PIL import Image

from jaxrobust.errors import UserError

SKIPPED_KEY = 'skipped_images'
NUM_SKIPPED_KEY = 'num_skipped_images'
EVAL_SPLITS = ('id_val', 'id_test', 'val', 'test')  # WILDS' evaluation splits


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


def check_eval_split(metadata: MutableMapping, split: str, *, dataset: str, opt_in: str,
                     allowed: bool) -> None:
  """Stops the build if images of evaluation split `split` were skipped, unless `allowed`.

  `opt_in` names the builder-config field that allows it (in the error message).
  """
  skipped = [s['file'] for s in metadata.get(SKIPPED_KEY, []) if s['split'] == split]
  if split not in EVAL_SPLITS or not skipped or allowed:
    return
  raise UserError(
      f'{dataset}: {len(skipped)} unreadable image(s) in evaluation split {split}: '
      f'{", ".join(skipped)}. Every model is compared on this split, so it is not shrunk '
      f'silently: replace those files from a fresh download and rebuild, or opt in to skipping '
      f'them with the TFDS name {dataset}/{opt_in}=True (the skip is then recorded in every '
      f'result.json and the report).')
