"""Superclass levels of a class DAG (WordNet-style) cut at fixed depths, as Hierarchy JSON.

The cut rule, for a depth measure `rule` and a depth `d` (level name `<rule>_d<d>`):
  * depth(n) is the number of hypernym edges from the root (`entity`) to node n along
    the longest path (`rule='longest'`) or the shortest path (`rule='shortest'`);
  * the level's candidate nodes are the class ancestors at depth exactly d; a class
    shallower than d is kept as its own class;
  * each class goes to its most specific candidate among its ancestors (itself
    included): the one with the fewest classes below it, ties to the smallest id;
  * the level's classes are the candidates that receive at least one class, sorted by id.
Only the ancestors of the classes matter (restricting the DAG to them keeps all depths).

Those DAG cuts are not nested (a class's depth-d ancestor need not lie below its depth-(d-1) one),
so the study's levels come from one tree instead (`tree_parents`): every node keeps one parent,
its hypernym with the longest path to the root (ties to the smallest id), so tree depth = longest
depth. Two nested level sets are cut from it:
  * `tree_d<d>`: each class goes to its tree ancestor at depth d (itself if shallower);
  * `balanced_<n>`: starting from the root, the level class holding the most classes (ties to
    the smallest id) is repeatedly replaced by its tree children; `balanced_<n>` is the step whose
    class count is closest to n (ties to the coarser). Big classes (e.g. `animal`) split first.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
import functools
import json
from typing import Any

from jaxrobust.datasets import hierarchy

RULES = ('longest', 'shortest')
PAPER_COUNTS = (5, 17, 37, 85, 232)  # the study's superclass counts (Ramanujan et al. 2023)


def level_name(rule: str, depth: int) -> str:
  """The level name of a cut, e.g. `longest_d4`."""
  return f'{rule}_d{depth}'


def ancestor_sets(parents: Mapping[str, Sequence[str]],
                  classes: Sequence[str]) -> dict[str, frozenset[str]]:
  """For every class, the set of its ancestors in the DAG, the class itself included."""
  @functools.cache
  def up(node: str) -> frozenset[str]:
    result = {node}
    for parent in parents.get(node, ()):
      result |= up(parent)
    return frozenset(result)
  return {c: up(c) for c in classes}


def node_depths(parents: Mapping[str, Sequence[str]], nodes: Iterable[str], root: str,
                rule: str) -> dict[str, int]:
  """Depth of each node below `root` by the longest or the shortest hypernym path."""
  if rule not in RULES:
    raise ValueError(f'cut rule {rule!r} unknown; use one of {RULES}.')
  pick = max if rule == 'longest' else min

  @functools.cache
  def depth(node: str) -> int:
    if node == root:
      return 0
    ups = parents.get(node, ())
    if not ups:
      raise ValueError(f'node {node} has no path to the root {root}.')
    return 1 + pick(depth(p) for p in ups)
  return {n: depth(n) for n in nodes}


def cut(ancestors: Mapping[str, frozenset[str]], classes: Sequence[str],
        depth: Mapping[str, int], d: int) -> tuple[list[str], list[int]]:
  """Level classes (sorted ids) and the level class index of every fine class, for cut `d`."""
  below = {}
  for c in classes:
    for a in ancestors[c]:
      below[a] = below.get(a, 0) + 1
  assigned = []
  for c in classes:
    if depth[c] < d:
      assigned.append(c)
    else:
      candidates = [a for a in ancestors[c] if depth[a] == d]
      assigned.append(min(candidates, key=lambda a: (below[a], a)))
  names = sorted(set(assigned))
  index = {n: i for i, n in enumerate(names)}
  return names, [index[a] for a in assigned]


def tree_parents(parents: Mapping[str, Sequence[str]], nodes: Iterable[str],
                 root: str) -> dict[str, str]:
  """One parent per node (root excluded): its hypernym deepest by the longest path."""
  nodes = set(nodes)
  depth = node_depths(parents, nodes, root, 'longest')
  return {n: min(parents[n], key=lambda p: (-depth[p], p)) for n in nodes if n != root}


def tree_paths(tree: Mapping[str, str], classes: Sequence[str]) -> list[list[str]]:
  """Each class's tree path from the root down to the class."""
  paths = []
  for c in classes:
    path = [c]
    while path[-1] in tree:
      path.append(tree[path[-1]])
    paths.append(path[::-1])
  return paths


def _level(assigned: Sequence[str]) -> tuple[list[str], list[int]]:
  names = sorted(set(assigned))
  index = {n: i for i, n in enumerate(names)}
  return names, [index[a] for a in assigned]


def tree_depth_cut(paths: Sequence[Sequence[str]], d: int) -> tuple[list[str], list[int]]:
  """Level `tree_d<d>`: each class's tree ancestor at depth d (itself if shallower)."""
  return _level([p[min(d, len(p) - 1)] for p in paths])


def balanced_cuts(paths: Sequence[Sequence[str]], targets: Sequence[int]
                  ) -> dict[int, tuple[list[str], list[int]]]:
  """Levels `balanced_<n>` for each n in `targets` (module docstring); nested by construction."""
  cut_depth = [0] * len(paths)  # each class's level class is paths[i][cut_depth[i]]
  snapshots = []
  while True:
    assigned = [p[k] for p, k in zip(paths, cut_depth)]
    snapshots.append(list(assigned))
    sizes = {}
    for i, (a, p, k) in enumerate(zip(assigned, paths, cut_depth)):
      if k < len(p) - 1:  # the class lies strictly below its level class: splittable
        sizes.setdefault(a, []).append(i)
    if not sizes or len(set(assigned)) >= max(targets):
      break
    node = min(sizes, key=lambda a: (-len(sizes[a]), a))
    for i in sizes[node]:
      cut_depth[i] += 1
  counts = [len(set(s)) for s in snapshots]
  levels = {}
  for n in targets:
    best = min(range(len(snapshots)), key=lambda j: (abs(counts[j] - n), counts[j]))
    levels[n] = _level(snapshots[best])
  return levels


def hierarchy_from_dag(parents: Mapping[str, Sequence[str]], classes: Sequence[str], *,
                       root: str, depths: Iterable[int], rules: Sequence[str] = RULES,
                       balanced: Sequence[int] = (),
                       group_roots: Mapping[str, str] | None = None) -> dict[str, Any]:
  """Hierarchy JSON: the (rule, depth) DAG cuts, `tree_d<d>` and `balanced_<n>` tree cuts.

  The fine level `label` = `classes`. Levels are ordered coarse -> fine by class count (then
  name). `group_roots` maps a group name to a node: the group holds the classes below it,
  `non_<name>` the others.
  """
  depths = list(depths)
  ancestors = ancestor_sets(parents, classes)
  nodes = set().union(*ancestors.values())
  levels, level_classes, level_ancestors = [], {}, {}
  for rule in rules:
    depth = node_depths(parents, nodes, root, rule)
    for d in depths:
      name = level_name(rule, d)
      level_classes[name], level_ancestors[name] = cut(ancestors, classes, depth, d)
      levels.append(name)
  paths = tree_paths(tree_parents(parents, nodes, root), classes)
  for d in depths:
    name = level_name('tree', d)
    level_classes[name], level_ancestors[name] = tree_depth_cut(paths, d)
    levels.append(name)
  if balanced:
    for n, (names, index) in balanced_cuts(paths, balanced).items():
      level_classes[f'balanced_{n}'], level_ancestors[f'balanced_{n}'] = names, index
      levels.append(f'balanced_{n}')
  levels.sort(key=lambda n: (len(level_classes[n]), n))
  levels.append(hierarchy.FINE_LEVEL)
  level_classes[hierarchy.FINE_LEVEL] = list(classes)
  level_ancestors[hierarchy.FINE_LEVEL] = list(range(len(classes)))
  groups = {}
  for group, node in (group_roots or {}).items():
    members = [i for i, c in enumerate(classes) if node in ancestors[c]]
    groups[group] = members
    groups[f'non_{group}'] = sorted(set(range(len(classes))) - set(members))
  return {'levels': levels,
          'classes': {n: level_classes[n] for n in levels},
          'ancestors': {n: level_ancestors[n] for n in levels},
          'groups': groups}


def dumps_hierarchy(table: Mapping[str, Any]) -> str:
  """Deterministic, diff-friendly JSON text: one line per level list and per group."""
  lines = ['{', f' "levels": {json.dumps(table["levels"])},']
  for key in ('classes', 'ancestors', 'groups'):
    entries = [f'  {json.dumps(k)}: {json.dumps(v)}' for k, v in table[key].items()]
    closing = '}' if key == 'groups' else '},'
    lines += [f' {json.dumps(key)}: {{', ',\n'.join(entries), f' {closing}']
  lines.append('}')
  return '\n'.join(lines) + '\n'


def class_counts(table: Mapping[str, Any]) -> dict[str, int]:
  """Number of classes at each level of a Hierarchy JSON table."""
  return {level: len(table['classes'][level]) for level in table['levels']}
