"""How many of a fine-tune benchmark's classes a subset's images include, from its spec alone.

The selection's classes follow from the spec and the base's images per class
(`select.class_counts`), which `synthetic_nature`'s config fixes, the only source that holds
a benchmark's classes (`target_classes.classes_in_source`). Nothing is read or built.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from jaxrobust.datasets.subsets import target_classes as benchmark_lib
from jaxrobust.datasets.subsets import select as select_lib
from jaxrobust.datasets.subsets import spec as spec_lib


@dataclasses.dataclass(frozen=True)
class Coverage:
  """Benchmark classes among a subset's classes, of the benchmark's classes (`empty` excluded).

  None where not known: no species of a real benchmark are matched by name.
  """
  covered: int | None
  total: int | None


def benchmark_coverage(spec: Any, benchmark: str) -> Coverage:
  """The coverage of `benchmark` (a TFDS name) by the subset `spec` selects."""
  total = benchmark_lib.num_classes(benchmark)
  if total is None:
    return Coverage(None, None)
  spec = spec_lib.as_spec(spec)
  covered = set()
  for source, quota in zip(spec.sources, select_lib.quotas(spec)):
    ids = benchmark_lib.classes_in_source(source.name, benchmark)
    if ids is None:
      return Coverage(None, total)
    if ids.size:
      sizes, hierarchy = benchmark_lib.nature_classes(
          benchmark_lib.nature_config(source.name), source.split)
      classes, counts = select_lib.class_counts(sizes, hierarchy, quota)
      # A benchmark class's fine id is its fauna index in every source that holds it.
      covered |= set(ids[np.isin(ids, classes[counts > 0])].tolist())
  return Coverage(len(covered), total)
