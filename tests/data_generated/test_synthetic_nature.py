"""synthetic_nature: a taxonomy with labels at every level, kingdoms as groups, determinism,
and the camera-trap benchmark's animals drawn from its fauna."""
import json

import numpy as np
from etils import epath

from jaxrobust.datasets import synthetic
from jaxrobust.datasets.builders import synthetic_nature
from jaxrobust.datasets.hierarchy import HIERARCHY_FILE
from jaxrobust.datasets.synthetic import nature, taxonomy


def test_splits_hold_every_species_the_configured_number_of_times(nature_tiny, records):
  config = nature_tiny.builder_config
  for split, per_class in (('train', config.num_instances), ('test', config.test_instances)):
    labels = np.asarray([r['label'] for r in records(nature_tiny, split)])
    np.testing.assert_array_equal(np.bincount(labels), [per_class] * config.num_classes)


def test_every_level_label_is_the_species_ancestor_in_the_stored_tree(nature_tiny, records):
  stored = json.loads((epath.Path(nature_tiny.data_dir) / HIERARCHY_FILE).read_text())
  ancestors = stored['ancestors']
  assert stored['levels'] == ['level1', 'level2', 'label']
  for row in records(nature_tiny, 'train'):
    fine = int(row['label'])
    assert int(row['label_level1']) == ancestors['level1'][fine]
    assert int(row['label_level2']) == ancestors['level2'][fine]
  # Families refine orders: all species of a family share one order.
  for family in set(ancestors['level2']):
    orders = {o for o, f in zip(ancestors['level1'], ancestors['level2']) if f == family}
    assert len(orders) == 1


def test_the_kingdoms_are_groups_that_split_the_orders():
  config = synthetic_nature.SyntheticNatureConfig(
      name='t', branching=(4, 2, 3), animal_orders=3)
  h = synthetic_nature.build_hierarchy(config)
  animal, objects = set(h.groups['animal']), set(h.groups['object'])
  assert animal.isdisjoint(objects) and len(animal | objects) == 24
  assert {int(h.ancestors['level1'][i]) for i in animal} == {0, 1, 2}
  species = taxonomy.build_taxonomy((4, 2, 3), 3, seed=0)
  assert [s.kingdom == taxonomy.ANIMAL for s in species] == [i in animal for i in range(24)]


def test_the_same_seed_draws_the_same_photo_and_another_seed_another():
  species = taxonomy.build_taxonomy((2, 2, 3), 1, seed=0)
  photo = lambda seed: nature.render_photo(species[0], 32, np.random.default_rng([seed, 7]))
  np.testing.assert_array_equal(photo(0), photo(0))
  assert not np.array_equal(photo(0), photo(1))


def test_benchmark_animals_are_species_of_the_same_seeds_fauna():
  settings = synthetic.WorldSettings(num_classes=4, image_size=16, split_sizes={},
                                     train_locations=2, val_locations=1, test_locations=1,
                                     shift_strength=1.0, seed=5)
  fauna = [s.animal for s in taxonomy.build_taxonomy(settings.fauna_branching,
                                                     settings.fauna_animal_orders, seed=5)
           if s.kingdom == taxonomy.ANIMAL]
  world = synthetic.build_world(settings)
  assert all(cls in fauna for cls in world.classes)
  other = synthetic.build_world(synthetic.WorldSettings(**{**settings.__dict__, 'seed': 6}))
  assert not set(other.classes) & set(world.classes)
