"""Label hierarchies: levels coarse -> fine, ancestors per fine class, named groups.

The on-disk form is the "Hierarchy JSON" of docs/architecture.md:
`{"levels": [coarse ... "label"], "classes": {level: [names]},
  "ancestors": {level: [ancestor id at that level for each fine class id]},
  "groups": {name: [fine class ids]}}`.

`load_hierarchy(dataset_name, data_dir)` finds the hierarchy of a TFDS dataset:
a committed table for datasets that have one (`imagenet2012`), else the
`hierarchy.json` in the dataset's data dir (fractal_hierarchy, inaturalist,
subsets), else a one-level hierarchy from the `label` feature (fractaldb).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
import dataclasses
import json
import os
from typing import Any, Callable

import numpy as np

from jaxrobust import errors

FINE_LEVEL = 'label'
HIERARCHY_FILE = 'hierarchy.json'
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class HierarchyError(errors.UserError, ValueError):
  """A hierarchy file or level that is malformed or missing."""


@dataclasses.dataclass(frozen=True, eq=False)
class Hierarchy:
  """Class names per level, the ancestor of each fine class at each level, groups."""
  levels: tuple[str, ...]
  classes: Mapping[str, tuple[str, ...]]
  ancestors: Mapping[str, np.ndarray]
  groups: Mapping[str, tuple[int, ...]]

  def __post_init__(self):
    if not self.levels or self.levels[-1] != FINE_LEVEL:
      raise HierarchyError(
          f'hierarchy levels {list(self.levels)} must end with the finest '
          f'level, named {FINE_LEVEL!r}.')
    num_fine = len(self.classes[FINE_LEVEL])
    for level in self.levels:
      if level not in self.classes:
        raise HierarchyError(f'hierarchy has no class names for level {level!r}.')
      anc = self.ancestors[level]
      if anc.shape != (num_fine,):
        raise HierarchyError(
            f'hierarchy ancestors[{level!r}] has {anc.shape[0]} entries; '
            f'it needs one per fine class ({num_fine}).')
      if num_fine and (anc.min() < 0 or anc.max() >= len(self.classes[level])):
        raise HierarchyError(
            f'hierarchy ancestors[{level!r}] holds ids outside '
            f'0..{len(self.classes[level]) - 1}.')

  @property
  def num_fine(self) -> int:
    return len(self.classes[FINE_LEVEL])

  def check_level(self, level: str, field: str = 'label_level') -> str:
    """Returns `level` if the hierarchy has it, else raises naming `field`."""
    if level not in self.levels:
      raise HierarchyError(
          f'{field}={level!r} is not a level of this hierarchy; '
          f'choose one of {list(self.levels)}.')
    return level

  def num_classes(self, level: str) -> int:
    return len(self.classes[self.check_level(level)])

  def descendants(self, level: str, class_id: int) -> np.ndarray:
    """Fine class ids below class `class_id` of `level`."""
    return np.flatnonzero(self.ancestors[self.check_level(level)] == class_id)

  def fine_ids(self, names: str | Sequence[str]) -> np.ndarray:
    """Sorted fine class ids named by a group, or by class names at any level."""
    if isinstance(names, str):
      if names in self.groups:
        return np.array(sorted(self.groups[names]), dtype=np.int64)
      names = [names]
    ids = set()
    for name in names:
      found = False
      for level in reversed(self.levels):  # Finest match wins.
        if name in self.classes[level]:
          ids.update(self.descendants(level, self.classes[level].index(name)).tolist())
          found = True
          break
      if not found:
        raise KeyError(name)
    return np.array(sorted(ids), dtype=np.int64)

  def restrict(self, fine_ids: Sequence[int]) -> Hierarchy:
    """The hierarchy of fine classes `fine_ids` (in that order), ids made contiguous."""
    fine_ids = np.asarray(fine_ids, dtype=np.int64)
    classes, ancestors = {}, {}
    for level in self.levels[:-1]:
      old = self.ancestors[level][fine_ids]
      kept = np.unique(old)  # Coarse classes keep their base order.
      classes[level] = tuple(self.classes[level][i] for i in kept)
      ancestors[level] = np.searchsorted(kept, old)
    classes[FINE_LEVEL] = tuple(self.classes[FINE_LEVEL][i] for i in fine_ids)
    ancestors[FINE_LEVEL] = np.arange(len(fine_ids), dtype=np.int64)
    position = {int(f): i for i, f in enumerate(fine_ids)}
    groups = {name: tuple(sorted(position[m] for m in members if m in position))
              for name, members in self.groups.items()}
    return Hierarchy(self.levels, classes, ancestors, groups)

  def to_json(self) -> dict[str, Any]:
    return {
        'levels': list(self.levels),
        'classes': {lvl: list(self.classes[lvl]) for lvl in self.levels},
        'ancestors': {lvl: self.ancestors[lvl].tolist() for lvl in self.levels},
        'groups': {name: list(ids) for name, ids in self.groups.items()},
    }

  def save(self, path: str | os.PathLike[str]) -> None:
    with open(path, 'w') as f:
      f.write(json.dumps(self.to_json()))


def label_feature(level: str) -> str:
  """The label feature that stores `level`: `label` for the finest, else `label_<level>`."""
  return FINE_LEVEL if level == FINE_LEVEL else f'label_{level}'


def concatenate(hierarchies: Sequence[Hierarchy], prefixes: Sequence[str]) -> Hierarchy:
  """Disjoint union over the levels all share; names get `<prefix>:`, ids are offset."""
  levels = tuple(lvl for lvl in hierarchies[0].levels
                 if all(lvl in h.levels for h in hierarchies))
  classes = {lvl: () for lvl in levels}
  ancestors = {lvl: [] for lvl in levels}
  groups: dict[str, tuple[int, ...]] = {}
  fine_offset = 0
  for h, prefix in zip(hierarchies, prefixes):
    for lvl in levels:
      ancestors[lvl].append(h.ancestors[lvl] + len(classes[lvl]))
      classes[lvl] += tuple(f'{prefix}:{name}' for name in h.classes[lvl])
    for name, members in h.groups.items():
      groups[name] = groups.get(name, ()) + tuple(m + fine_offset for m in members)
    fine_offset += h.num_fine
  return Hierarchy(levels, classes, {lvl: np.concatenate(a) for lvl, a in ancestors.items()},
                   groups)


def hierarchy_from_json(obj: Mapping[str, Any]) -> Hierarchy:
  """Builds a Hierarchy from the parsed Hierarchy JSON."""
  levels = tuple(obj['levels'])
  classes = {lvl: tuple(obj['classes'][lvl]) for lvl in levels}
  num_fine = len(classes.get(FINE_LEVEL, ()))
  ancestors = {lvl: np.asarray(obj.get('ancestors', {}).get(lvl, range(num_fine)),
                               dtype=np.int64) for lvl in levels}
  groups = {name: tuple(int(i) for i in ids) for name, ids in obj.get('groups', {}).items()}
  return Hierarchy(levels, classes, ancestors, groups)


def load_hierarchy_file(path: str | os.PathLike[str]) -> Hierarchy:
  """Reads a Hierarchy JSON file (a committed table or a user-supplied one)."""
  if not os.path.exists(path):
    raise HierarchyError(
        f'hierarchy file {path} not found; write one in the Hierarchy '
        'JSON format of docs/architecture.md.')
  with open(path) as f:
    return hierarchy_from_json(json.load(f))


def flat_hierarchy(class_names: Sequence[str]) -> Hierarchy:
  """A one-level hierarchy: every class is its own (only) level."""
  names = tuple(class_names)
  return Hierarchy((FINE_LEVEL,), {FINE_LEVEL: names},
                   {FINE_LEVEL: np.arange(len(names), dtype=np.int64)}, {})


def _committed_table(filename: str) -> Callable[[str, str | None], Hierarchy]:
  return lambda name, data_dir: load_hierarchy_file(os.path.join(_PACKAGE_DIR, filename))


# Datasets whose hierarchy is a table shipped with the package, by TFDS base name.
_TABLES: dict[str, Callable[[str, str | None], Hierarchy]] = {
    'imagenet2012': _committed_table(os.path.join('wordnet', 'imagenet_hierarchy.json')),
}


def has_committed_table(dataset_name: str) -> bool:
  """True if the hierarchy of `dataset_name` ships with the package (readable without data)."""
  return dataset_name.split('/')[0].split(':')[0] in _TABLES


def load_hierarchy(dataset_name: str, data_dir: str | None = None) -> Hierarchy:
  """The label hierarchy of TFDS dataset `dataset_name` (name[/config]) in `data_dir`."""
  base_name = dataset_name.split('/')[0].split(':')[0]
  if base_name in _TABLES:
    return _TABLES[base_name](dataset_name, data_dir)
  import tensorflow_datasets as tfds  # Heavy; only needed for dataset dirs.
  builder = tfds.builder(dataset_name, data_dir=data_dir)
  stored = os.path.join(str(builder.data_dir), HIERARCHY_FILE)
  if os.path.exists(stored):
    return load_hierarchy_file(stored)
  if not builder.is_prepared():
    raise errors.DatasetNotBuiltError(
        f'dataset {dataset_name} is not built in {data_dir}; run '
        f'`python -m jaxrobust.datasets build {dataset_name}` (or `prepare`) first.')
  label = builder.info.features[FINE_LEVEL]
  return flat_hierarchy(label.names)


def describe_levels(tree: Hierarchy, levels: Sequence[str] | None = None,
                    group: str = 'animal') -> str:
  """Per level: its classes, fine classes per class (min/median/max), where `group` falls.

  The last column shows the confound of coarse levels: how many level classes hold the
  group's fine classes, how many of them the largest holds, how many level classes mix.
  """
  members = np.asarray(tree.groups.get(group, ()), dtype=np.int64)
  lines = [f'{"level":<14} {"classes":>7}  {"fine classes per class (min/median/max)":<40} '
           + (f'{group} ({members.size} fine classes)' if members.size else '')]
  for level in levels or tree.levels:
    ancestors = tree.ancestors[level]
    sizes = np.bincount(ancestors, minlength=len(tree.classes[level]))
    spread = f'{sizes.min()} / {np.median(sizes):g} / {sizes.max()}'
    line = f'{level:<14} {sizes.size:>7}  {spread:<40} '

    if members.size:
      inside = np.bincount(ancestors[members], minlength=sizes.size)
      line += (f'in {(inside > 0).sum()} classes, the largest holding {inside.max()}; '
               f'{((inside > 0) & (inside < sizes)).sum()} mixed')
    lines.append(line.rstrip())
  return '\n'.join(lines)
