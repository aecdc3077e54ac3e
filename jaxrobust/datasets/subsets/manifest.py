"""The manifest: everything needed to recreate a subset exactly (stored in its metadata).

```
{"format": 1, "name": "subset/<config>", "spec": {...}, "seed": 0,
 "sources": [{"name", "split", "version", "weight", "num_examples"}],
 "image": {"shape", "dtype", "encoding_format"},
 "hierarchy": <Hierarchy JSON of the subset: label maps at every level>,
 "records": {"source": [...], "base_index": [...], "label": [...]}}
```
Records are in dataset order; `label` is the subset's fine class id, the coarser
labels follow from `hierarchy.ancestors`. Class names of a mixture are
`<source name>:<base class name>`.
"""
from __future__ import annotations

from collections.abc import Sequence
import json
import os
from typing import Any

import numpy as np
import tensorflow_datasets as tfds

from jaxrobust import errors
from jaxrobust.datasets import hierarchy as hierarchy_lib
from jaxrobust.datasets.subsets import bases as bases_lib
from jaxrobust.datasets.subsets import select as select_lib
from jaxrobust.datasets.subsets import spec as spec_lib

MANIFEST_FORMAT = 1
MANIFEST_KEY = 'manifest'  # Key in the dataset's metadata.json.


def _image_description(images: Sequence[tfds.features.Image]) -> dict[str, Any]:
  """One Image feature for all sources: dims that differ become None."""
  shapes = [tuple(img.shape) for img in images]
  if len({len(s) for s in shapes}) != 1:
    raise errors.UserError(
        'sources: their image features have different ranks; mix only '
        'datasets of still images.')
  shape = [dims[0] if len(set(dims)) == 1 else None for dims in zip(*shapes)]
  formats = {img.encoding_format for img in images}
  return {'shape': shape, 'dtype': np.dtype(images[0].np_dtype).name,
          'encoding_format': formats.pop() if len(formats) == 1 else None}


def build_manifest(spec: spec_lib.SubsetSpec, bases: Sequence[bases_lib.Base],
                   hierarchies: Sequence[hierarchy_lib.Hierarchy],
                   selections: Sequence[select_lib.Selection]) -> dict[str, Any]:
  """The manifest of a selection: bases, record ids, label maps, spec and seed."""
  restricted, labels = [], []
  offset = 0
  for h, sel in zip(hierarchies, selections):
    classes = np.unique(sel.fine_ids)  # Subset fine ids follow the base's class order.
    restricted.append(h.restrict(classes))
    labels.append(np.searchsorted(classes, sel.fine_ids) + offset)
    offset += len(classes)
  if len(restricted) == 1:
    hierarchy = restricted[0]
  else:
    hierarchy = hierarchy_lib.concatenate(restricted, [b.name for b in bases])
  return {
      'format': MANIFEST_FORMAT,
      'name': spec_lib.subset_name(spec),
      'spec': spec.to_json(),
      'seed': spec.seed,
      'sources': [{'name': b.name, 'split': b.split, 'version': b.version, 'weight': s.weight,
                   'num_examples': len(sel.record_ids)}
                  for b, s, sel in zip(bases, spec.sources, selections)],
      'image': _image_description([b.image_feature for b in bases]),
      'hierarchy': hierarchy.to_json(),
      'records': {
          'source': np.concatenate([np.full(len(sel.record_ids), i)
                                    for i, sel in enumerate(selections)]).tolist(),
          'base_index': np.concatenate([sel.record_ids for sel in selections]).tolist(),
          'label': np.concatenate(labels).tolist(),
      },
  }


def config_name(manifest: dict[str, Any]) -> str:
  return manifest['name'].split('/', 1)[1]


def manifest_hierarchy(manifest: dict[str, Any]) -> hierarchy_lib.Hierarchy:
  return hierarchy_lib.hierarchy_from_json(manifest['hierarchy'])


def load_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
  """Reads a manifest file, or the `metadata.json` of a materialized subset."""
  if not os.path.exists(path):
    raise errors.UserError(
        f'manifest {path} not found; give a manifest JSON or a subset\'s '
        'metadata.json.')
  with open(path) as f:
    obj = json.load(f)
  obj = obj.get(MANIFEST_KEY, obj)
  if obj.get('format') != MANIFEST_FORMAT:
    raise errors.UserError(f'{path} is not a subset manifest (format {MANIFEST_FORMAT}).')
  return obj
