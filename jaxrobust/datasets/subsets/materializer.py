"""Spec -> selection -> manifest -> materialized TFDS subset (idempotent)."""
from __future__ import annotations

import json
import os
from typing import Any

from absl import logging
from tensorflow_datasets.core import constants

from jaxrobust import errors
from jaxrobust.datasets import hierarchy as hierarchy_lib
from jaxrobust.datasets.subsets import bases as bases_lib
from jaxrobust.datasets.subsets import builder as builder_lib
from jaxrobust.datasets.subsets import manifest as manifest_lib
from jaxrobust.datasets.subsets import select as select_lib
from jaxrobust.datasets.subsets import spec as spec_lib


def resolve_data_dir(data_dir: str | None) -> str:
  """`data_dir`, or TFDS's default when None."""
  return os.path.expanduser(data_dir or constants.DATA_DIR)


def subset_dir(name: str, data_dir: str | None) -> str:
  """Where subset `name` (`subset/<config>`) lives once materialized."""
  config = name.split('/', 1)[1] if '/' in name else name
  return os.path.join(resolve_data_dir(data_dir), spec_lib.BUILDER_NAME, config,
                      str(builder_lib.Subset.VERSION))


def is_materialized(name: str, data_dir: str | None) -> bool:
  return os.path.exists(os.path.join(subset_dir(name, data_dir), 'dataset_info.json'))


def read_manifest(name: str, data_dir: str | None) -> dict[str, Any]:
  """The manifest stored in a materialized subset's metadata."""
  if not is_materialized(name, data_dir):
    raise errors.DatasetNotBuiltError(
        f'subset {name} is not materialized in {resolve_data_dir(data_dir)}; '
        'run `python -m jaxrobust.study prepare --config=...` first.')
  return manifest_lib.load_manifest(os.path.join(subset_dir(name, data_dir), 'metadata.json'))


def _check_label_level(spec: spec_lib.SubsetSpec, levels: list[str]) -> None:
  level = spec_lib.train_level(spec)
  if level not in levels:
    raise spec_lib.SpecError(
        f'label_level={level!r} is not a level of every source; choose one of '
        f'{levels}.')


def _check_existing(spec: spec_lib.SubsetSpec, name: str, data_dir: str) -> None:
  manifest = read_manifest(name, data_dir)
  stored = spec_lib.as_spec(manifest['spec'])
  if spec_lib.selection_key(stored) != spec_lib.selection_key(spec):
    raise spec_lib.SpecError(
        f'{subset_dir(name, data_dir)} holds another spec under the same name; '
        'delete that directory to rebuild it.')
  _check_label_level(spec, list(manifest['hierarchy']['levels']))


def materialize(spec: Any, data_dir: str | None) -> str:
  """Builds the subset a spec describes unless it exists; returns its TFDS name."""
  spec = spec_lib.as_spec(spec)
  name = spec_lib.subset_name(spec)
  data_dir = resolve_data_dir(data_dir)
  if is_materialized(name, data_dir):
    _check_existing(spec, name, data_dir)
    logging.info('Subset %s already materialized.', name)
    return name
  bases = [bases_lib.open_base(s, data_dir, f'sources[{i}]') for i, s in enumerate(spec.sources)]
  hierarchies = [hierarchy_lib.load_hierarchy(s.name, data_dir) for s in spec.sources]
  common = [lvl for lvl in hierarchies[0].levels if all(lvl in h.levels for h in hierarchies)]
  _check_label_level(spec, common)
  selections = [select_lib.select(bases_lib.fine_labels(b, h), h, q)
                for b, h, q in zip(bases, hierarchies, select_lib.quotas(spec))]
  manifest = manifest_lib.build_manifest(spec, bases, hierarchies, selections)
  logging.info('Materializing %s: %d records.', name, len(manifest['records']['label']))
  return builder_lib.build(manifest, data_dir)


def recreate(manifest: dict[str, Any] | str, data_dir: str | None) -> str:
  """Materializes a subset from its manifest alone (dict or path); returns its name."""
  if not isinstance(manifest, dict):
    manifest = manifest_lib.load_manifest(manifest)
  data_dir = resolve_data_dir(data_dir)
  if is_materialized(manifest['name'], data_dir):
    stored = read_manifest(manifest['name'], data_dir)
    if json.dumps(stored, sort_keys=True) != json.dumps(manifest, sort_keys=True):
      raise spec_lib.SpecError(
          f'{subset_dir(manifest["name"], data_dir)} holds a different manifest; '
          'delete that directory to recreate it.')
    return manifest['name']
  return builder_lib.build(manifest, data_dir)
