"""Subset specification: the five pre-training data properties, its name and label key.

A spec is an ml_collections ConfigDict (or dict) with the fields of `SubsetSpec`;
`as_spec` turns it into the frozen dataclass the rest of the package uses. Everything
here is computable without reading any data (study dry runs call `subset_name`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
import dataclasses
import hashlib
import json
import math
import re
from typing import Any

from jaxrobust import errors
from jaxrobust.datasets import hierarchy as hierarchy_lib

BUILDER_NAME = 'subset'
# Bump when the selection algorithm changes, so old names never alias new selections.
SELECTION_FORMAT = 1
_WEIGHT_TOLERANCE = 1e-6
# How a subset treats the classes of a fine-tune benchmark (`benchmark`) that its source holds:
# 'keep' picks them first wherever it picks some of the classes, 'drop' leaves them out.
BENCHMARK_CLASS_RULES = ('keep', 'drop')


class SpecError(errors.ConfigError, ValueError):
  """A subset spec that cannot be satisfied; the message names the field to change."""


@dataclasses.dataclass(frozen=True)
class Source:
  """One base dataset: TFDS name[/config], split, and its share of a mixture."""
  name: str
  split: str = 'train'
  weight: float = 1.0


@dataclasses.dataclass(frozen=True)
class Diversity:
  """Superclasses at `level`, each built from r of its subclasses, fixed images each.

  `max_ratio` R (optional): the pool is the superclasses with at least R subclasses that each
  hold `images_per_superclass` images, so every r up to R draws from the same superclasses.
  """
  level: str
  subclasses_per_superclass: int
  images_per_superclass: int
  max_ratio: int | None = None


@dataclasses.dataclass(frozen=True)
class SubsetSpec:
  """The five properties (quantity, classes x images, granularity, semantics, diversity,
  source) plus seed, nesting and what to do with a fine-tune benchmark's classes."""
  sources: tuple[Source, ...]
  num_examples: int | None = None
  num_classes: int | None = None
  images_per_class: int | None = None
  label_level: str | None = None
  class_filter: str | tuple[str, ...] | None = None
  min_images_per_class: int | None = None  # classes with fewer images are left out of the pool
  diversity: Diversity | None = None
  seed: int = 0
  nested: bool = True
  benchmark: str | None = None           # TFDS name of the fine-tune benchmark
  benchmark_classes: str | None = None   # one of BENCHMARK_CLASS_RULES
  # (i, n): each class's records are dealt into n disjoint parts by a seeded order and only
  # part i (0-based) is selected from; specs differing only in i select disjoint images of
  # one distribution (a placebo pair).
  part: tuple[int, int] | None = None

  def to_json(self) -> dict[str, Any]:
    plain = json.loads(json.dumps(dataclasses.asdict(self)))
    # Optional fields left unset stay out of the JSON, so they leave a spec's name alone.
    for field in ('min_images_per_class', 'benchmark', 'benchmark_classes', 'part'):
      if plain[field] is None:
        del plain[field]
    if self.diversity is not None and self.diversity.max_ratio is None:
      del plain['diversity']['max_ratio']
    return plain


def _get(obj: Any, key: str, default: Any = None) -> Any:
  if isinstance(obj, Mapping):
    return obj.get(key, default)
  return getattr(obj, key, default)


def _to_plain(obj: Any) -> Any:
  """ConfigDicts/FrozenConfigDicts -> dicts, so Mapping checks work on both."""
  if hasattr(obj, 'to_dict'):
    return obj.to_dict()
  return obj


def _optional_int(value: Any, field: str) -> int | None:
  if value is None:
    return None
  if isinstance(value, bool) or int(value) != value or value <= 0:
    raise SpecError(f'{field}={value!r} must be a positive integer or None.')
  return int(value)


def as_spec(config: Any) -> SubsetSpec:
  """Converts a ConfigDict / dict / SubsetSpec into a validated SubsetSpec."""
  if isinstance(config, SubsetSpec):
    return validate(config)
  config = _to_plain(config)
  raw_sources = _get(config, 'sources')
  if not raw_sources:
    raise SpecError(
        'sources: give at least one {name, split, weight} entry, e.g. '
        "[{'name': 'fractal_hierarchy/small', 'split': 'train', 'weight': 1.0}].")
  if isinstance(raw_sources, (str, Mapping)):
    raw_sources = [raw_sources]
  sources = []
  for i, src in enumerate(raw_sources):
    src = _to_plain(src)
    if isinstance(src, str):
      src = {'name': src}
    if not _get(src, 'name'):
      raise SpecError(f'sources[{i}].name is missing: give a TFDS name[/config].')
    sources.append(Source(name=str(_get(src, 'name')), split=str(_get(src, 'split', 'train')),
                          weight=float(_get(src, 'weight', 1.0))))
  class_filter = _to_plain(_get(config, 'class_filter'))
  if class_filter is not None and not isinstance(class_filter, str):
    class_filter = tuple(str(c) for c in class_filter)
  diversity = _to_plain(_get(config, 'diversity'))
  if diversity is not None:
    missing = [f for f in ('level', 'subclasses_per_superclass', 'images_per_superclass')
               if _get(diversity, f) is None]
    if missing:
      raise SpecError(
          f'diversity.{missing[0]} is missing: diversity needs level, '
          'subclasses_per_superclass and images_per_superclass.')
    diversity = Diversity(
        level=str(_get(diversity, 'level')),
        subclasses_per_superclass=_optional_int(
            _get(diversity, 'subclasses_per_superclass'), 'diversity.subclasses_per_superclass'),
        images_per_superclass=_optional_int(
            _get(diversity, 'images_per_superclass'), 'diversity.images_per_superclass'),
        max_ratio=_optional_int(_get(diversity, 'max_ratio'), 'diversity.max_ratio'))
  label_level = _get(config, 'label_level')
  benchmark, benchmark_classes = _get(config, 'benchmark'), _get(config, 'benchmark_classes')
  spec = SubsetSpec(
      sources=tuple(sources),
      num_examples=_optional_int(_get(config, 'num_examples'), 'num_examples'),
      num_classes=_optional_int(_get(config, 'num_classes'), 'num_classes'),
      images_per_class=_optional_int(_get(config, 'images_per_class'), 'images_per_class'),
      label_level=None if label_level is None else str(label_level),
      class_filter=class_filter,
      min_images_per_class=_optional_int(_get(config, 'min_images_per_class'),
                                         'min_images_per_class'),
      diversity=diversity,
      seed=int(_get(config, 'seed', 0)),
      nested=bool(_get(config, 'nested', True)),
      benchmark=None if benchmark is None else str(benchmark),
      benchmark_classes=None if benchmark_classes is None else str(benchmark_classes),
      part=_part(_to_plain(_get(config, 'part'))))
  return validate(spec)


def _part(value: Any) -> tuple[int, int] | None:
  """The `part` field as (index, count), refusing anything but 0 <= index < count, count >= 2."""
  if value is None:
    return None
  try:
    index, count = (int(v) for v in value)
  except (TypeError, ValueError):
    raise SpecError(f'part={value!r} must be a pair (index, count), e.g. (0, 2) and (1, 2) '
                    'for two disjoint halves.') from None
  if not (count >= 2 and 0 <= index < count):
    raise SpecError(f'part={value!r}: count must be at least 2 and index in 0..count - 1, '
                    'e.g. (0, 2) and (1, 2) for two disjoint halves.')
  return index, count


def validate(spec: SubsetSpec) -> SubsetSpec:
  """Refuses specs that are impossible whatever the data (naming the field)."""
  total = sum(s.weight for s in spec.sources)
  for i, s in enumerate(spec.sources):
    if not s.weight > 0:
      raise SpecError(f'sources[{i}].weight={s.weight} must be > 0.')
  if abs(total - 1.0) > _WEIGHT_TOLERANCE:
    raise SpecError(
        f'sources: weights sum to {total:g}; they must sum to 1 (e.g. divide each '
        f'weight by {total:g}).')
  names = [(s.name, s.split) for s in spec.sources]
  if len(set(names)) != len(names):
    raise SpecError('sources: the same name and split appears twice; merge the entries.')
  n, k, m = spec.num_examples, spec.num_classes, spec.images_per_class
  if n is not None and k is not None and m is not None and n != k * m:
    raise SpecError(
        f'num_examples={n} must equal num_classes x images_per_class = {k * m}; '
        'give only two of the three.')
  if n is not None and m is not None and k is None and n % m:
    raise SpecError(
        f'num_examples={n} is not a multiple of images_per_class={m}; the largest '
        f'feasible num_examples below it is {n // m * m}.')
  if n is not None and k is not None and n < k:
    raise SpecError(
        f'num_classes={k} is more than num_examples={n} allows; the largest '
        f'feasible num_classes is {n}.')
  if len(spec.sources) > 1 and n is None and k is None:
    raise SpecError(
        'num_examples: a mixture of several sources needs num_examples (or '
        'num_classes) to split by weight.')
  if spec.benchmark_classes not in (None, *BENCHMARK_CLASS_RULES):
    raise SpecError(f'benchmark_classes={spec.benchmark_classes!r}: use one of '
                    f'{", ".join(BENCHMARK_CLASS_RULES)} (or None).')
  if (spec.benchmark is None) != (spec.benchmark_classes is None):
    raise SpecError('benchmark and benchmark_classes go together: name the fine-tune '
                    'benchmark and whether its classes are kept or dropped, or set neither.')
  div = spec.diversity
  if div is not None:
    if n is not None or m is not None:
      field = 'num_examples' if n is not None else 'images_per_class'
      raise SpecError(
          f'{field} must be None with diversity: the size is set by '
          'diversity.images_per_superclass (and num_classes superclasses).')
    if div.level == hierarchy_lib.FINE_LEVEL:
      raise SpecError(
          f'diversity.level={div.level!r} must be a coarser level than the fine '
          'classes it groups.')
    if div.max_ratio is not None and div.max_ratio < div.subclasses_per_superclass:
      raise SpecError(
          f'diversity.max_ratio={div.max_ratio} is less than subclasses_per_superclass='
          f'{div.subclasses_per_superclass}; set it to the largest ratio of the study.')
    if div.images_per_superclass < div.subclasses_per_superclass:
      raise SpecError(
          f'diversity.subclasses_per_superclass={div.subclasses_per_superclass} is more than '
          f'images_per_superclass={div.images_per_superclass} allows; the largest feasible '
          f'diversity.subclasses_per_superclass is {div.images_per_superclass}.')
  return spec


def selection_key(spec: SubsetSpec) -> dict[str, Any]:
  """The fields that decide which records are selected (not `label_level`)."""
  key = spec.to_json()
  del key['label_level']
  key['format'] = SELECTION_FORMAT
  return key


def spec_hash(spec: SubsetSpec) -> str:
  blob = json.dumps(selection_key(spec), sort_keys=True, separators=(',', ':'))
  return hashlib.sha256(blob.encode()).hexdigest()[:10]


def _slug(text: str, limit: int = 24) -> str:
  return re.sub(r'[^A-Za-z0-9_]+', '-', text).strip('-')[:limit]


def config_name(spec: SubsetSpec) -> str:
  """Readable TFDS config name: sources, quantities, filter, diversity, seed, hash."""
  parts = ['+'.join(_slug(s.name.replace('/', '-'), 32) for s in spec.sources)]
  if len(spec.sources) > 1:
    parts.append('w' + '-'.join(f'{round(s.weight * 100):d}' for s in spec.sources))
  for tag, value in (('n', spec.num_examples), ('k', spec.num_classes),
                     ('m', spec.images_per_class)):
    if value is not None:
      parts.append(f'{tag}{value}')
  if isinstance(spec.class_filter, str):
    parts.append('f-' + _slug(spec.class_filter))
  elif spec.class_filter is not None:
    names = '-'.join(_slug(c) for c in spec.class_filter)
    parts.append(f'f-{names}' if len(names) <= 24 else f'f{len(spec.class_filter)}')
  if spec.min_images_per_class is not None:
    parts.append(f'min{spec.min_images_per_class}')
  if spec.benchmark_classes is not None:
    parts.append(f'{spec.benchmark_classes}-benchmark')
  if spec.diversity is not None:
    d = spec.diversity
    parts.append(f'div-{_slug(d.level, 16)}-r{d.subclasses_per_superclass}'
                 f'-i{d.images_per_superclass}' + ('' if d.max_ratio is None else
                                                   f'-of{d.max_ratio}'))
  if spec.part is not None:
    parts.append(f'part{spec.part[0] + 1}of{spec.part[1]}')
  parts.append(f's{spec.seed}')
  if not spec.nested:
    parts.append('unnested')
  return '_'.join(parts) + '_' + spec_hash(spec)


def subset_name(spec: Any) -> str:
  """The TFDS name `subset/<readable>_<hash>` of a spec (reads no data)."""
  return f'{BUILDER_NAME}/{config_name(as_spec(spec))}'


def train_level(spec: Any) -> str:
  """The hierarchy level trained on: label_level, else the diversity level, else finest."""
  spec = as_spec(spec)
  if spec.label_level is not None:
    return spec.label_level
  if spec.diversity is not None:
    return spec.diversity.level
  return hierarchy_lib.FINE_LEVEL


def label_key(spec: Any) -> str:
  """The label feature the engine trains on for this spec."""
  return hierarchy_lib.label_feature(train_level(spec))


def split_by_weight(total: int, weights: Sequence[float]) -> list[int]:
  """Integer shares of `total` proportional to `weights` (largest remainder, exact sum)."""
  quotas = [total * w for w in weights]
  shares = [math.floor(q) for q in quotas]
  order = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - shares[i]), i))
  for i in order[:total - sum(shares)]:
    shares[i] += 1
  return shares
