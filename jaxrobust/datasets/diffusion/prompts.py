"""What to ask the text-to-image model: class names, prompt templates, per-image seeds.

Image `instance` of fine class `fine` uses template `templates[instance % len(templates)]`
with the class's human name, and the seed `image_seed(seed, fine, instance)`, so any single
image can be regenerated from the dataset's metadata.
"""
from __future__ import annotations

from collections.abc import Sequence
import re

import numpy as np

from jaxrobust import errors
from jaxrobust.datasets.wordnet import derive_imagenet_hierarchy as wordnet

# Several phrasings add diversity beyond the sampler's noise (the study's "natural-looking
# synthetic images": photos, not art, of one object each).
DEFAULT_TEMPLATES = (
    'a photo of a {}.',
    'a close-up photo of a {}.',
    'a photo of a {} in its natural surroundings.',
    'a bright photo of a {}.',
    'a photo of a small {}.',
    'a photo of a large {}.',
    'a cropped photo of a {}.',
    'a blurry photo of a {}.',
)
DEFAULT_NEGATIVE_PROMPT = 'drawing, painting, cartoon, illustration, text, watermark, low quality'
_WNID = re.compile(r'n\d{8}')


def human_names(class_names: Sequence[str], wordnet_dir: str = '/usr/share/wordnet'
                ) -> list[str]:
  """Prompt names: ImageNet wnids from the committed table, other wnids from WordNet 3.0,
  anything else as written (`_` read as a space)."""
  table = wordnet.read_names()
  unknown = [n for n in class_names if _WNID.fullmatch(n) and n not in table]
  if unknown:
    table = dict(zip(unknown, wordnet.derive_names(wordnet_dir, unknown))) | table
  return [table.get(n, n.replace('_', ' ')) for n in class_names]


def prompt(templates: Sequence[str], name: str, instance: int) -> str:
  """The prompt of image `instance` of the class called `name`."""
  return templates[instance % len(templates)].format(name)


def image_seed(seed: int, fine: int, instance: int) -> int:
  """The sampler seed of one image: a hash of (dataset seed, fine class, instance)."""
  return int(np.random.SeedSequence([seed, fine, instance]).generate_state(1, np.uint32)[0])


def check_templates(templates: Sequence[str]) -> None:
  """Raises ConfigError naming the field unless every template has exactly one `{}`."""
  bad = [t for t in templates if t.count('{}') != 1]
  if not templates or bad:
    raise errors.ConfigError(f'templates: each needs exactly one {{}} for the class name; '
                             f'got {bad or "none"}.')
