"""Readable summary of a materialized subset: bases, spec, examples per class per level."""
from __future__ import annotations

from typing import Any

import numpy as np

from jaxrobust.datasets import hierarchy as hierarchy_lib
from jaxrobust.datasets.subsets import manifest as manifest_lib
from jaxrobust.datasets.subsets import materializer as materializer_lib

_MAX_CLASSES_LISTED = 12


def _level_lines(level: str, names: tuple[str, ...], counts: np.ndarray) -> list[str]:
  lines = [f'  {hierarchy_lib.label_feature(level):<24} {len(names):>6} classes   '
           f'examples/class min {counts.min()} max {counts.max()} mean {counts.mean():.1f}']
  if len(names) <= _MAX_CLASSES_LISTED:
    lines += [f'      {name}: {count}' for name, count in zip(names, counts)]
  return lines


def summarize(manifest: dict[str, Any]) -> str:
  """The summary text of a manifest."""
  hierarchy = manifest_lib.manifest_hierarchy(manifest)
  labels = np.asarray(manifest['records']['label'], dtype=np.int64)
  spec = {k: v for k, v in manifest['spec'].items() if k != 'sources' and v is not None}
  lines = [f'{manifest["name"]}: {len(labels)} examples (seed {manifest["seed"]})',
           f'  spec: {spec}']
  for s in manifest['sources']:
    lines.append(f'  source {s["name"]}:{s["split"]} v{s["version"]} weight {s["weight"]:g}: '
                 f'{s["num_examples"]} examples')
  lines.append('  label features (coarse -> fine):')
  for level in hierarchy.levels:
    counts = np.bincount(hierarchy.ancestors[level][labels],
                         minlength=len(hierarchy.classes[level]))
    lines += _level_lines(level, hierarchy.classes[level], counts)
  return '\n'.join(lines)


def describe(name: str, data_dir: str | None) -> str:
  """Summary of materialized subset `name`: sources, spec, examples per class and level."""
  return summarize(materializer_lib.read_manifest(name, data_dir))
