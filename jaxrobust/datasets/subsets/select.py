"""Seeded, nested, class-balanced selection of base records (pure numpy, no I/O).

Nesting: classes are taken as a prefix of one seeded class order and records as a
prefix of one seeded order per class, so at one seed a smaller quantity (N, K, M,
r or images per superclass) always selects a subset of a larger one. A spec's
`benchmark_classes` rule moves the benchmark's classes to the front of those orders
(`keep`) or out of the pool (`drop`); the classes chosen follow from the base's class
sizes alone (`class_counts`).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
import dataclasses
import hashlib

import numpy as np

from jaxrobust.datasets import hierarchy as hierarchy_lib
from jaxrobust.datasets.subsets import target_classes as benchmark_lib
from jaxrobust.datasets.subsets import spec as spec_lib


@dataclasses.dataclass(frozen=True)
class Quota:
  """What one source contributes: the spec's fields with this source's share."""
  num_examples: int | None
  num_classes: int | None
  images_per_class: int | None
  class_filter: str | tuple[str, ...] | None
  min_images_per_class: int | None
  diversity: spec_lib.Diversity | None
  seed: int
  nested: bool
  where: str  # Names the source in errors and seeds its random streams.
  benchmark_classes: str | None = None  # 'keep' | 'drop' the classes `benchmark_ids`
  benchmark_ids: tuple[int, ...] = ()   # this source's fine ids of the benchmark's classes
  part: tuple[int, int] | None = None


@dataclasses.dataclass(frozen=True)
class Selection:
  """Selected base record ids (ascending) and the hierarchy fine class of each."""
  record_ids: np.ndarray
  fine_ids: np.ndarray


def _benchmark_ids(spec: spec_lib.SubsetSpec, source: spec_lib.Source) -> tuple[int, ...]:
  """The source's fine ids of the classes of the spec's benchmark (() without a rule)."""
  if spec.benchmark_classes is None:
    return ()
  ids = benchmark_lib.classes_in_source(source.name, spec.benchmark)
  if ids is None:
    raise spec_lib.SpecError(
        f'benchmark_classes={spec.benchmark_classes!r}: which classes of {source.name} are '
        f'classes of benchmark={spec.benchmark!r} is not known (only for the generated '
        'synthetic_wildcam); unset benchmark and benchmark_classes.')
  return tuple(int(i) for i in ids)


def quotas(spec: spec_lib.SubsetSpec) -> list[Quota]:
  """Splits the spec's quantities over its sources by weight."""
  weights = [s.weight for s in spec.sources]
  ns = (spec_lib.split_by_weight(spec.num_examples, weights)
        if spec.num_examples is not None else [None] * len(weights))
  ks = (spec_lib.split_by_weight(spec.num_classes, weights)
        if spec.num_classes is not None else [None] * len(weights))
  return [Quota(num_examples=n, num_classes=k, images_per_class=spec.images_per_class,
                class_filter=spec.class_filter, min_images_per_class=spec.min_images_per_class,
                diversity=spec.diversity, seed=spec.seed,
                nested=spec.nested, where=f'{s.name}:{s.split}',
                benchmark_classes=spec.benchmark_classes,
                benchmark_ids=_benchmark_ids(spec, s), part=spec.part)
          for s, n, k in zip(spec.sources, ns, ks)]


def _stable_int(value: object) -> int:
  return int.from_bytes(hashlib.sha256(repr(value).encode()).digest()[:4], 'little')


def _rng(quota: Quota, *purpose: object) -> np.random.Generator:
  key = [quota.seed, _stable_int(quota.where)] + [_stable_int(p) for p in purpose]
  if not quota.nested:  # Each quantity draws its own selection.
    key.append(_stable_int((quota.num_examples, quota.num_classes, quota.images_per_class,
                            quota.diversity)))
  return np.random.default_rng(np.random.SeedSequence(key))


def balanced_counts(total: int, num: int) -> np.ndarray:
  """`total` split over `num` classes, the first `total % num` getting one more."""
  counts = np.full(num, total // num, dtype=np.int64)
  counts[:total % num] += 1
  return counts


def _largest_feasible(fits: Callable[[int], bool], hi: int) -> int:
  """Largest t in [0, hi] with fits(t), for monotone `fits` (binary search)."""
  lo = 0
  while lo < hi:
    mid = (lo + hi + 1) // 2
    lo, hi = (mid, hi) if fits(mid) else (lo, mid - 1)
  return lo


def _records_by_class(fine_labels: np.ndarray, num_fine: int) -> list[np.ndarray]:
  order = np.argsort(fine_labels, kind='stable')
  bounds = np.cumsum(np.bincount(fine_labels, minlength=num_fine))[:-1]
  return np.split(order, bounds)


def _part_of(by_class: list[np.ndarray], quota: Quota) -> list[np.ndarray]:
  """Each class's records dealt into `count` disjoint parts by one seeded order; part `index`.

  The order depends on the seed and source only (not on the part or the quantities), so
  the parts of one seed never share a record.
  """
  index, count = quota.part
  seed = np.random.SeedSequence([quota.seed, _stable_int(quota.where), _stable_int('parts')])
  rngs = [np.random.default_rng(s) for s in seed.spawn(len(by_class))]
  return [np.sort(rng.permutation(records)[index::count]) for rng, records in zip(rngs, by_class)]


def _class_pool(hierarchy: hierarchy_lib.Hierarchy, sizes: np.ndarray,
                class_filter: str | tuple[str, ...] | None, where: str) -> np.ndarray:
  pool = np.flatnonzero(sizes > 0)
  if class_filter is None:
    return pool
  try:
    allowed = hierarchy.fine_ids(class_filter)
  except KeyError as e:
    raise spec_lib.SpecError(
        f'class_filter: {e.args[0]!r} is neither a group nor a class name of {where}; its '
        f'groups are {sorted(hierarchy.groups)}.') from None
  pool = np.intersect1d(pool, allowed)
  if not pool.size:
    raise spec_lib.SpecError(
        f'class_filter={class_filter!r} leaves no class with examples in {where}.')
  return pool


def _kept_first(order: np.ndarray, kept: Sequence[int], quota: Quota) -> np.ndarray:
  """`order` with the `kept` ids moved to its front (in their order there) under rule 'keep'."""
  if quota.benchmark_classes != 'keep':
    return order
  first = np.isin(order, kept)
  return np.concatenate([order[first], order[~first]])


def _take(by_class: list[np.ndarray], classes: np.ndarray, counts: np.ndarray,
          quota: Quota) -> Selection:
  ids, fine = [], []
  for c, count in zip(classes, counts):
    if count:
      ids.append(_rng(quota, 'records', int(c)).permutation(by_class[c])[:count])
      fine.append(np.full(count, c, dtype=np.int64))
  ids = np.concatenate(ids) if ids else np.zeros(0, np.int64)
  fine = np.concatenate(fine) if fine else np.zeros(0, np.int64)
  order = np.argsort(ids, kind='stable')
  return Selection(record_ids=ids[order].astype(np.int64), fine_ids=fine[order])


def _check_counts_fit(counts: np.ndarray, sizes: np.ndarray, field: str, value: int,
                      largest: int, where: str) -> None:
  if np.any(counts > sizes):
    raise spec_lib.SpecError(
        f'{field}={value} asks for more images than {where} has in some selected '
        f'class (the smallest has {sizes.min()}); the largest feasible {field} is '
        f'{largest}.')


def select(fine_labels: np.ndarray, hierarchy: hierarchy_lib.Hierarchy,
           quota: Quota) -> Selection:
  """Selects records of one source; `fine_labels[i]` is record i's fine class id."""
  by_class = _records_by_class(fine_labels, hierarchy.num_fine)
  if quota.part is not None:
    by_class = _part_of(by_class, quota)
  sizes = np.array([len(r) for r in by_class], dtype=np.int64)
  return _take(by_class, *class_counts(sizes, hierarchy, quota), quota)


def class_counts(sizes: np.ndarray, hierarchy: hierarchy_lib.Hierarchy,
                 quota: Quota) -> tuple[np.ndarray, np.ndarray]:
  """(fine classes, images of each) a quota selects, from the base's images per class alone."""
  pool = _class_pool(hierarchy, sizes, quota.class_filter, quota.where)
  if quota.benchmark_classes == 'drop':
    pool = np.setdiff1d(pool, quota.benchmark_ids)
    if not pool.size:
      raise spec_lib.SpecError(
          f"benchmark_classes='drop' leaves no class in {quota.where}: every class of the pool "
          "is a benchmark class; use 'keep' or no rule.")
  if quota.min_images_per_class is not None:
    pool = pool[sizes[pool] >= quota.min_images_per_class]
    if not pool.size:
      raise spec_lib.SpecError(
          f'min_images_per_class={quota.min_images_per_class} leaves no class in '
          f'{quota.where}; the largest feasible min_images_per_class is '
          f'{int(sizes.max())}.')
  if quota.diversity is not None:
    return _diverse_counts(sizes, pool, hierarchy, quota)
  order = _kept_first(_rng(quota, 'classes').permutation(pool), quota.benchmark_ids, quota)
  n, k, m = quota.num_examples, quota.num_classes, quota.images_per_class
  if k is None and m is not None and n is not None:
    k = n // m
  if k is not None:
    if k > len(order):
      raise spec_lib.SpecError(
          f'num_classes={k} is more than the {len(order)} classes with examples in '
          f'{quota.where}; the largest feasible num_classes is {len(order)}.')
    order = order[:k]
  class_sizes = sizes[order]
  if m is not None:
    counts = np.full(len(order), m, dtype=np.int64)
    _check_counts_fit(counts, class_sizes, 'images_per_class', m, int(class_sizes.min()),
                      quota.where)
  elif n is not None:
    counts = balanced_counts(n, len(order))
    largest = _largest_feasible(
        lambda t: bool(np.all(balanced_counts(t, len(order)) <= class_sizes)),
        int(class_sizes.sum()))
    _check_counts_fit(counts, class_sizes, 'num_examples', n, largest, quota.where)
  else:
    counts = class_sizes
  return order, counts


def _diverse_counts(sizes: np.ndarray, pool: np.ndarray, hierarchy: hierarchy_lib.Hierarchy,
                    quota: Quota) -> tuple[np.ndarray, np.ndarray]:
  """Superclasses from r of their subclasses, a fixed number of images per superclass."""
  div = quota.diversity
  ancestors = hierarchy.ancestors[hierarchy.check_level(div.level, 'diversity.level')]
  if div.max_ratio is not None:
    pool = _shared_pool(pool, sizes, ancestors, div, quota.where)
  kept = list(quota.benchmark_ids)
  supers = _kept_first(_rng(quota, 'superclasses').permutation(np.unique(ancestors[pool])),
                       ancestors[kept], quota)
  k = quota.num_classes
  if k is not None:
    if k > len(supers):
      raise spec_lib.SpecError(
          f'num_classes={k} is more than the {len(supers)} superclasses at level '
          f'{div.level!r} in {quota.where}; the largest feasible num_classes is '
          f'{len(supers)}.')
    supers = supers[:k]
  r, per_super = div.subclasses_per_superclass, div.images_per_superclass
  subs = [_kept_first(_rng(quota, 'subclasses', int(s)).permutation(pool[ancestors[pool] == s]),
                      kept, quota) for s in supers]
  fewest = min(len(s) for s in subs)
  if r > fewest:
    raise spec_lib.SpecError(
        f'diversity.subclasses_per_superclass={r} is more than some superclass at '
        f'level {div.level!r} of {quota.where} has; the largest feasible '
        f'diversity.subclasses_per_superclass is '
        f'{fewest}.')
  subs = [s[:r] for s in subs]
  largest = min(_largest_feasible(lambda t, s=s: bool(np.all(balanced_counts(t, r) <= sizes[s])),
                                  int(sizes[s].sum())) for s in subs)
  if per_super > largest:
    raise spec_lib.SpecError(
        f'diversity.images_per_superclass={per_super} asks for more images than the '
        f'chosen subclasses of {quota.where} hold; the largest feasible '
        f'diversity.images_per_superclass is '
        f'{largest}.')
  classes = np.concatenate(subs)
  counts = np.concatenate([balanced_counts(per_super, r) for _ in subs])
  return classes, counts


def _shared_pool(pool: np.ndarray, sizes: np.ndarray, ancestors: np.ndarray,
                 div: spec_lib.Diversity, where: str) -> np.ndarray:
  """Subclasses holding images_per_superclass each, under superclasses with max_ratio of them."""
  pool = pool[sizes[pool] >= div.images_per_superclass]
  counts = np.bincount(ancestors[pool], minlength=int(ancestors.max()) + 1)
  pool = pool[counts[ancestors[pool]] >= div.max_ratio]
  if not pool.size:
    raise spec_lib.SpecError(
        f'diversity.max_ratio={div.max_ratio}: no superclass at level {div.level!r} of {where} '
        f'has {div.max_ratio} subclasses of at least {div.images_per_superclass} images; lower '
        'diversity.images_per_superclass or diversity.max_ratio.')
  return pool
