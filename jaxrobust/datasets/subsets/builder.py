"""TFDS builder `subset`: one config per manifest, materialized by copying encoded records.

Configs are not listed in code: they are made from manifests at run time, and a
materialized subset is read in any process from its data dir alone
(`tfds.data_source('subset/<config>', data_dir=DIR)` falls back to the stored
dataset_info, features and metadata.json).
"""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from etils import epath
import numpy as np
import tensorflow_datasets as tfds

from jaxrobust.datasets import hierarchy as hierarchy_lib
from jaxrobust.datasets.subsets import bases as bases_lib
from jaxrobust.datasets.subsets import manifest as manifest_lib
from jaxrobust.datasets.subsets import records as records_lib
from jaxrobust.datasets.subsets import spec as spec_lib

SPLIT = 'train'
SOURCE_KEY = 'source'
BASE_INDEX_KEY = 'base_index'


@dataclasses.dataclass(eq=False)
class SubsetConfig(tfds.core.BuilderConfig):
  """A builder config carrying the subset's manifest."""
  manifest: dict[str, Any] | None = dataclasses.field(default=None, repr=False)


class SubsetMetadata(tfds.core.MetadataDict):
  """metadata.json (the manifest) plus the subset's own hierarchy.json beside it."""

  def save_metadata(self, data_dir):
    # json.dumps (C encoder), not TFDS's json.dump: manifests list every record.
    (epath.Path(data_dir) / 'metadata.json').write_text(json.dumps(self))
    hierarchy = manifest_lib.manifest_hierarchy(self[manifest_lib.MANIFEST_KEY])
    hierarchy.save(os.path.join(os.fspath(data_dir), hierarchy_lib.HIERARCHY_FILE))


def subset_features(manifest: dict[str, Any]) -> tfds.features.FeaturesDict:
  """`image` (encoded, as in the base), a label per level, `source`, `base_index`."""
  hierarchy = manifest_lib.manifest_hierarchy(manifest)
  image = manifest['image']
  features = {'image': tfds.features.Image(shape=tuple(image['shape']),
                                           dtype=np.dtype(image['dtype']),
                                           encoding_format=image['encoding_format'])}
  for level in hierarchy.levels:
    features[hierarchy_lib.label_feature(level)] = tfds.features.ClassLabel(
        names=list(hierarchy.classes[level]))
  features[SOURCE_KEY] = tfds.features.ClassLabel(
      names=[s['name'] for s in manifest['sources']])
  features[BASE_INDEX_KEY] = tfds.features.Scalar(dtype=np.int64)
  return tfds.features.FeaturesDict(features)


class Subset(tfds.core.dataset_builder.FileReaderBuilder):
  """A deterministic selection over base datasets (see jaxrobust.datasets.subsets)."""

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'Subsets materialized by copying encoded records.'}
  BUILDER_CONFIGS = []  # Made from manifests at run time.

  def _info(self) -> tfds.core.DatasetInfo:
    manifest = self.builder_config.manifest
    return tfds.core.DatasetInfo(
        builder=self,
        description=f'Subset {manifest["name"]} of '
                    + ', '.join(f'{s["name"]}:{s["split"]}' for s in manifest['sources']),
        features=subset_features(manifest),
        metadata=SubsetMetadata({manifest_lib.MANIFEST_KEY: manifest}),
        disable_shuffling=True)  # Keep the manifest's record order.

  def _download_and_prepare(self, dl_manager, download_config=None):
    del dl_manager, download_config  # Everything comes from bases already in data_dir.
    manifest = self.builder_config.manifest
    num_examples = len(manifest['records']['label'])
    bases = _open_manifest_bases(manifest, os.fspath(self.data_dir_root))
    estimated = sum(b.builder.info.splits[b.split].num_bytes * s['num_examples']
                    // max(b.num_records, 1) for b, s in zip(bases, manifest['sources']))
    template = self._get_filename_template(SPLIT)
    num_shards = records_lib.num_shards(estimated, num_examples)
    paths = [template.sharded_filepath(shard_index=i, num_shards=num_shards)
             for i in range(num_shards)]
    lengths, num_bytes = records_lib.write_shards(
        _subset_records(manifest, bases), num_examples, paths)
    self.info.set_splits(tfds.core.SplitDict([tfds.core.SplitInfo(
        name=SPLIT, shard_lengths=lengths, num_bytes=num_bytes, filename_template=template)]))


def _open_manifest_bases(manifest: dict[str, Any], data_dir: str) -> list[bases_lib.Base]:
  """The manifest's bases, refusing a base whose version differs from the manifest's."""
  bases = []
  for s, src in enumerate(manifest['sources']):
    base = bases_lib.open_base(spec_lib.Source(src['name'], src['split']), data_dir,
                               field=f'sources[{s}]')
    if base.version != src['version']:
      raise spec_lib.SpecError(
          f'sources[{s}]: the manifest was made from {src["name"]} version '
          f'{src["version"]}, but {data_dir} holds version {base.version}; build '
          'that version to recreate this subset.')
    bases.append(base)
  return bases


def _subset_records(manifest: dict[str, Any], bases: list[bases_lib.Base]):
  """Serialized subset records in manifest order: base image bytes + labels at every level."""
  records = manifest['records']
  sources = np.asarray(records['source'], dtype=np.int64)
  base_index = np.asarray(records['base_index'], dtype=np.int64)
  labels = np.asarray(records['label'], dtype=np.int64)
  if np.any(np.diff(sources) < 0):
    raise spec_lib.SpecError('manifest records must be grouped by source, in source order.')
  hierarchy = manifest_lib.manifest_hierarchy(manifest)
  levels = [(hierarchy_lib.label_feature(lvl), hierarchy.ancestors[lvl].tolist())
            for lvl in hierarchy.levels]
  for s, base in enumerate(bases):
    mine = sources == s
    fine = iter(labels[mine].tolist())
    for chunk, raws in bases_lib.read_chunks(bases_lib.raw_source(base), base_index[mine],
                                             f'copy {base.name}'):
      for index, raw in zip(chunk.tolist(), raws):
        f = next(fine)
        features = {key: ancestors[f] for key, ancestors in levels}
        features[SOURCE_KEY] = s
        features[BASE_INDEX_KEY] = index
        yield records_lib.relabel(raw, features)


def build(manifest: dict[str, Any], data_dir: str) -> str:
  """Materializes the subset a manifest describes; returns its TFDS name."""
  config = SubsetConfig(name=manifest_lib.config_name(manifest), version=Subset.VERSION,
                        manifest=manifest)
  builder = Subset(config=config, data_dir=data_dir, file_format='array_record')
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(try_download_gcs=False))
  return manifest['name']
