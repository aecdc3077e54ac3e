"""`fractal_hierarchy`: FractalDB-style classes in a tree, for offline granularity studies.

Roots come from the FractalDB category search; every child class perturbs its parent's
system (Gaussian noise of std `child_noise[level]` on the coefficients) and must pass the
same fill-rate threshold. Instances are rendered as in `fractaldb`.
Label features: `label` (finest) and `label_level1` (coarsest), `label_level2`, ...
The tree is stored in the metadata (`hierarchy`) and as `hierarchy.json` (the
Hierarchy JSON of docs/architecture.md) in the dataset directory.
"""
import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from jaxrobust.datasets import fractals
from jaxrobust.datasets.builders import (ArrayRecordBuilder, encode_image, hierarchy_info,
                                     instance_splits, level_labels)
from jaxrobust.datasets.builders.fractaldb import FractalDBConfig
from jaxrobust.datasets.fractals import tree
from jaxrobust.datasets.hierarchy import FINE_LEVEL, Hierarchy


@dataclasses.dataclass(eq=False)
class FractalHierarchyConfig(FractalDBConfig):
  """FractalDB knobs plus the tree; num_classes is derived (the product of branching)."""
  branching: tuple[int, ...] = (5, 4, 5)      # roots, children per root, per child, ...
  child_noise: tuple[float, ...] = (0.2, 0.08)  # coefficient noise std per level below roots

  def __post_init__(self):
    self.num_classes = int(np.prod(self.branching))


def level_names(depth: int) -> list[str]:
  """Hierarchy level names, coarse to fine: level1, level2, ..., label."""
  return [f'level{k}' for k in range(1, depth)] + [FINE_LEVEL]


def build_hierarchy(branching: tuple[int, ...]) -> Hierarchy:
  """The class tree of a branching: names `c3`, `c3.1`, `c3.1.4`; groups = coarsest classes."""
  ancestors = tree.ancestor_ids(branching)
  # Node ids are parent-major, so id % branching is the position among siblings.
  positions = np.stack([a % b for a, b in zip(ancestors, branching)], axis=1)
  levels = level_names(len(branching))
  classes = {}
  for k, level in enumerate(levels):
    first = np.unique(ancestors[k], return_index=True)[1]
    classes[level] = tuple('c' + '.'.join(map(str, positions[f, :k + 1])) for f in first)
  coarsest = levels[0]
  groups = {name: tuple(np.flatnonzero(ancestors[0] == i).tolist())
            for i, name in enumerate(classes[coarsest])}
  return Hierarchy(tuple(levels), classes, dict(zip(levels, ancestors)), groups)


CONFIGS = (
    FractalHierarchyConfig(
        name='small', branching=(5, 4, 5), child_noise=(0.2, 0.08), num_instances=40,
        test_instances=5, image_size=32, render_size=128, num_points=20_000,
        description='Offline studies: 5 > 20 > 100 classes x 40 at 32 px (4,000 train).'),
    FractalHierarchyConfig(
        name='tiny', branching=(2, 3), child_noise=(0.15,), num_instances=10,
        test_instances=2, image_size=32, render_size=96, num_points=10_000,
        description='Tests: 2 > 6 classes x 10 at 32 px.'),
    FractalHierarchyConfig(
        name='medium', branching=(10, 5, 4), child_noise=(0.2, 0.08), num_instances=100,
        test_instances=10, image_size=64, render_size=192, num_points=50_000,
        description='10 > 50 > 200 classes x 100 at 64 px.'),
)


class FractalHierarchy(ArrayRecordBuilder):
  """Fractal classes in a tree; every example carries its label at every level."""

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'First release.'}
  BUILDER_CONFIGS = list(CONFIGS)
  DEFAULT_CONFIG_NAME = 'small'

  def _info(self) -> tfds.core.DatasetInfo:
    config = self.builder_config
    return hierarchy_info(self, build_hierarchy(config.branching), config.image_size, 'png',
                          __doc__)

  def _split_generators(self, dl_manager):
    del dl_manager  # generated, nothing to download
    config = self.builder_config
    settings = config.search_settings()
    roots = fractals.search_categories(config.branching[0], config.seed, settings)
    levels = tree.grow_tree(roots, config.branching, config.child_noise, config.seed, settings)
    self.info.metadata['systems'] = levels[-1].to_json()
    splits = instance_splits(config.num_instances, config.test_instances)
    return {name: self._generate_examples(levels[-1], instances)
            for name, instances in splits.items()}

  def _generate_examples(self, leaves: fractals.Systems, instances: range):
    config = self.builder_config
    hierarchy = build_hierarchy(config.branching)
    pairs = [(c, i) for c in range(len(leaves)) for i in instances]
    for fine, instance, image in fractals.render_instances(
        leaves, pairs, config.seed, config.render_settings()):
      labels = level_labels(hierarchy, fine)
      yield f'{fine}_{instance}', {
          'image': encode_image(image, 'png'), **labels, 'instance': instance}
