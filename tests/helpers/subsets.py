"""Test-only base datasets in the real on-disk format (array_record + hierarchy.json).

`toy_hierarchy/three_level`: 3 coarse > 6 mid > 24 fine classes, 10..16 PNG images per
fine class (class sizes differ, so balance is tested), groups `animal` / `non_animal`,
labels `label`, `label_mid`, `label_coarse`, and `hierarchy.json` beside the data.
`toy_hierarchy/flat`: 5 classes x 12 images, no hierarchy file (a flat dataset).
"""
import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from jaxrobust.datasets import hierarchy as hierarchy_lib
from jaxrobust.datasets import builders
from jaxrobust.datasets.builders import encode_image


@dataclasses.dataclass(eq=False)
class ToyConfig(tfds.core.BuilderConfig):
  hierarchical: bool = True
  seed: int = 0


def toy_hierarchy() -> hierarchy_lib.Hierarchy:
  fine = np.arange(24)
  return hierarchy_lib.Hierarchy(
      levels=('coarse', 'mid', 'label'),
      classes={'coarse': ('bird', 'rock', 'tool'),
               'mid': tuple(f'mid{i}' for i in range(6)),
               'label': tuple(f'fine{i:02d}' for i in range(24))},
      ancestors={'coarse': fine // 8, 'mid': fine // 4, 'label': fine},
      groups={'animal': tuple(range(8)), 'non_animal': tuple(range(8, 24))})


def toy_class_size(fine_id: int) -> int:
  return 10 + 2 * (fine_id % 4)


class ToyHierarchy(tfds.core.GeneratorBasedBuilder):
  """Test-only base dataset with random 8x8 PNG images (distinct bytes per record)."""
  VERSION = tfds.core.Version('1.0.0')
  BUILDER_CONFIGS = [ToyConfig(name='three_level'),
                     ToyConfig(name='flat', hierarchical=False, seed=1)]

  def __init__(self, **kwargs):
    super().__init__(file_format='array_record', **kwargs)

  def _info(self):
    if self.builder_config.hierarchical:
      h = toy_hierarchy()
      labels = {hierarchy_lib.label_feature(lvl): tfds.features.ClassLabel(
          names=list(h.classes[lvl])) for lvl in h.levels}
      metadata = builders.HierarchyMetadata(hierarchy=h.to_json())
    else:
      labels = {'label': tfds.features.ClassLabel(names=[f'flat{i}' for i in range(5)])}
      metadata = None
    return tfds.core.DatasetInfo(
        builder=self, metadata=metadata,
        features=tfds.features.FeaturesDict({
            'image': tfds.features.Image(shape=(8, 8, 3), encoding_format='png'), **labels}))

  def _split_generators(self, dl_manager):
    return {'train': self._generate_examples()}

  def _generate_examples(self):
    rng = np.random.default_rng(self.builder_config.seed)
    if self.builder_config.hierarchical:
      h = toy_hierarchy()
      fine = np.repeat(np.arange(24), [toy_class_size(c) for c in range(24)])
    else:
      h, fine = None, np.repeat(np.arange(5), 12)
    fine = fine[rng.permutation(len(fine))]  # Classes interleaved on disk, like real data.
    for i, label in enumerate(fine):
      example = {'image': encode_image(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)),
                 'label': int(label)}
      if h is not None:
        for level in h.levels[:-1]:
          example[hierarchy_lib.label_feature(level)] = int(h.ancestors[level][label])
      yield i, example


TOY = 'toy_hierarchy/three_level'
TOY_FLAT = 'toy_hierarchy/flat'


def spec(**fields):
  """A subset spec dict over the three-level toy base, like jaxrobust.study.recipes.subset."""
  spec = {'sources': [{'name': TOY, 'split': 'train', 'weight': 1.0}], 'num_examples': None,
          'num_classes': None, 'images_per_class': None, 'label_level': None,
          'class_filter': None, 'diversity': None, 'seed': 0, 'nested': True}
  spec.update(fields)
  return spec


class ToyManual(tfds.core.GeneratorBasedBuilder):
  """Test-only dataset that needs a manual download (like imagenet2012 or iwildcam)."""
  VERSION = tfds.core.Version('1.0.0')
  MANUAL_DOWNLOAD_INSTRUCTIONS = 'Put toy_manual.zip in the manual dir.'

  def _info(self):
    return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict(
        {'label': tfds.features.ClassLabel(num_classes=2)}))

  def _split_generators(self, dl_manager):
    raise AssertionError('never reached without the manual download')

  def _generate_examples(self):
    raise AssertionError('never reached without the manual download')
