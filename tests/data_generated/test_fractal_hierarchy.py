"""fractal_hierarchy: labels at every level agree with the stored tree."""
import json
import pathlib

import numpy as np

from jaxrobust.datasets.builders.fractal_hierarchy import build_hierarchy
from jaxrobust.datasets.fractals import render
from jaxrobust.datasets.fractals.search import Systems, measure_fill_rates
from jaxrobust.datasets.hierarchy import load_hierarchy


def test_labels_at_every_level_agree_with_the_stored_tree(hierarchy_tiny, records):
  stored = json.loads((pathlib.Path(hierarchy_tiny.data_dir) / 'hierarchy.json').read_text())
  assert stored['levels'] == ['level1', 'label']
  for split in ('train', 'test'):
    for row in records(hierarchy_tiny, split):
      for level in stored['levels']:
        feature = 'label' if level == 'label' else f'label_{level}'
        assert row[feature] == stored['ancestors'][level][row['label']]


def test_tree_is_in_the_metadata_and_loads_through_the_hierarchy_module(hierarchy_tiny):
  stored = json.loads((pathlib.Path(hierarchy_tiny.data_dir) / 'hierarchy.json').read_text())
  assert hierarchy_tiny.info.metadata['hierarchy'] == stored
  config = hierarchy_tiny.builder_config
  loaded = load_hierarchy('fractal_hierarchy/tiny', str(hierarchy_tiny.data_dir_root))
  assert loaded.num_classes('level1') == config.branching[0]
  assert loaded.num_fine == int(np.prod(config.branching))
  for level in loaded.levels:
    names = hierarchy_tiny.info.features[
        'label' if level == 'label' else f'label_{level}'].names
    assert list(loaded.classes[level]) == names


def test_every_class_has_its_instances_in_each_split(hierarchy_tiny, records):
  config = hierarchy_tiny.builder_config
  for split, count in (('train', config.num_instances), ('test', config.test_instances)):
    labels = np.bincount([r['label'] for r in records(hierarchy_tiny, split)])
    assert labels.tolist() == [count] * config.num_classes


def test_child_systems_meet_the_fill_rate_and_keep_their_roots_map_count(hierarchy_tiny):
  config = hierarchy_tiny.builder_config
  leaves = Systems.from_json(hierarchy_tiny.info.metadata['systems'])
  rates = measure_fill_rates(leaves.coeffs, leaves.probs, leaves.search_ids, config.seed,
                             config.search_settings(), render.data_mesh())
  assert rates.min() >= config.fill_threshold
  # Siblings (same root) share their number of maps, and differ from each other.
  hierarchy = build_hierarchy(config.branching)
  maps = (leaves.probs > 0).sum(axis=1)
  for members in hierarchy.groups.values():
    assert len(set(maps[list(members)])) == 1
    assert len({leaves.coeffs[m].tobytes() for m in members}) == len(members)


def test_deeper_tree_names_and_ancestors():
  hierarchy = build_hierarchy((2, 2, 3))
  assert hierarchy.levels == ('level1', 'level2', 'label')
  assert hierarchy.classes['level2'] == ('c0.0', 'c0.1', 'c1.0', 'c1.1')
  assert hierarchy.classes['label'][7] == 'c1.0.1'
  assert hierarchy.ancestors['level1'].tolist() == [0] * 6 + [1] * 6
  assert hierarchy.ancestors['level2'].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
  assert hierarchy.groups == {'c0': tuple(range(6)), 'c1': tuple(range(6, 12))}
