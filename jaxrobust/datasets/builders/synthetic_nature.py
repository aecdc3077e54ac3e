"""`synthetic_nature`: a generated natural-like pre-training source (ImageNet's role offline).

Many classes of animal-like and object-like individuals under a three-level taxonomy
(order > family > species, `jaxrobust.datasets.synthetic.taxonomy`), each photo on a random
natural scene with random exposure, tint, blur, noise and night-time IR
(`jaxrobust.datasets.synthetic.nature`). Animals come from the body-plan space of the
`synthetic_wildcam` benchmark's classes: the benchmark's species are drawn from this
source's fauna at the same seed (as iWildCam's species appear in ImageNet and iNaturalist), and
no background is tied to a label: pre-training here teaches what an animal's silhouette,
coat colour and pattern look like regardless of the scene, which is what a model needs
at the benchmark's unseen cameras (see `synthetic_wildcam` for the shift's cause).

Label features: `label` (species), `label_level2` (family), `label_level1` (order);
hierarchy groups `animal` and `object` (the kingdoms) serve label-semantics studies.
Stored as `hierarchy.json` too. Images are JPEG, like ImageNet's.
"""
import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from jaxrobust.datasets.builders import (ArrayRecordBuilder, encode_image, hierarchy_info,
                                     instance_splits, level_labels)
from jaxrobust.datasets.hierarchy import FINE_LEVEL, Hierarchy
from jaxrobust.datasets.synthetic import nature, taxonomy

LEVELS = ('level1', 'level2', FINE_LEVEL)


@dataclasses.dataclass(eq=False)
class SyntheticNatureConfig(tfds.core.BuilderConfig):
  """Every knob of one generated natural-like source."""
  branching: tuple[int, int, int] = (5, 4, 5)   # orders, families per order, species per family
  animal_orders: int = 3                        # the first orders are animals, the rest objects
  num_instances: int = 60                       # train images per species
  test_instances: int = 5                       # held-out images per species (split `test`)
  image_size: int = 32
  seed: int = 0
  jpeg_quality: int = 90

  @property
  def num_classes(self) -> int:
    return int(np.prod(self.branching))


def build_hierarchy(config: SyntheticNatureConfig) -> Hierarchy:
  """Orders `a0`/`o3`, families `a0.1`, species `a0.1.4`; groups = the two kingdoms."""
  orders, families, species = config.branching
  fine = np.arange(orders * families * species)
  ancestors = {'level1': fine // (families * species), 'level2': fine // species,
               FINE_LEVEL: fine}

  def order_name(o: int) -> str:
    return ('a' if o < config.animal_orders else 'o') + str(o)

  classes = {
      'level1': tuple(order_name(o) for o in range(orders)),
      'level2': tuple(f'{order_name(o)}.{f}' for o in range(orders) for f in range(families)),
      FINE_LEVEL: tuple(f'{order_name(o)}.{f}.{s}' for o in range(orders)
                        for f in range(families) for s in range(species)),
  }
  is_animal = ancestors['level1'] < config.animal_orders
  groups = {taxonomy.ANIMAL: tuple(np.flatnonzero(is_animal).tolist()),
            taxonomy.OBJECT: tuple(np.flatnonzero(~is_animal).tolist())}
  return Hierarchy(LEVELS, classes, ancestors, groups)


def class_sizes(config: SyntheticNatureConfig, split: str) -> np.ndarray:
  """Images of each fine class in `split`: every species has the same number."""
  instances = instance_splits(config.num_instances, config.test_instances)[split]
  return np.full(config.num_classes, len(instances), dtype=np.int64)


CONFIGS = (
    SyntheticNatureConfig(
        name='small', description='Offline studies: 5 > 20 > 100 classes x 60 at 32 px '
        '(6,000 train; 3 animal orders, 2 object orders).'),
    SyntheticNatureConfig(
        name='medium', num_instances=120, description='The offline quickstart: 5 > 20 > 100 '
        'classes x 120 at 32 px (12,000 train; the same species as `small`).'),
    SyntheticNatureConfig(
        name='tiny', branching=(2, 2, 3), animal_orders=1, num_instances=10, test_instances=2,
        description='Tests: 2 > 4 > 12 classes x 10 at 32 px.'),
)


class SyntheticNature(ArrayRecordBuilder):
  """Animal- and object-like species on random natural scenes, with their taxonomy."""

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'First release.'}
  BUILDER_CONFIGS = list(CONFIGS)
  DEFAULT_CONFIG_NAME = 'small'

  def _info(self) -> tfds.core.DatasetInfo:
    config = self.builder_config
    return hierarchy_info(self, build_hierarchy(config), config.image_size, 'jpeg', __doc__)

  def _split_generators(self, dl_manager):
    del dl_manager  # generated, nothing to download
    config = self.builder_config
    splits = instance_splits(config.num_instances, config.test_instances)
    return {name: self._generate_examples(instances) for name, instances in splits.items()}

  def _generate_examples(self, instances: range):
    config = self.builder_config
    species = taxonomy.build_taxonomy(config.branching, config.animal_orders, config.seed)
    hierarchy = build_hierarchy(config)
    for fine, kind in enumerate(species):
      labels = level_labels(hierarchy, fine)
      for instance in instances:
        rng = np.random.default_rng([config.seed, 11, fine, instance])
        image = nature.render_photo(kind, config.image_size, rng)
        yield f'{fine}_{instance}', {
            'image': encode_image(image, 'jpeg', config.jpeg_quality), **labels,
            'instance': instance}
