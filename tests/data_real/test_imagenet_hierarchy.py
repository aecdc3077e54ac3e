"""The ImageNet-1k WordNet hierarchy: cut rule, committed table, BREEDS-format input."""
import json
import pathlib

import pytest
import tensorflow_datasets as tfds

from jaxrobust.datasets import hierarchy
from jaxrobust.datasets.wordnet import breeds
from jaxrobust.datasets.wordnet import cuts
from jaxrobust.datasets.wordnet import derive_imagenet_hierarchy as derive

WORDNET_DIR = '/usr/share/wordnet'  # Debian wordnet-base (WordNet 3.0).

# Classes per level of the committed table (the cut rule of cuts.py on WordNet 3.0).
EXPECTED_COUNTS = {
    'longest_d2': 6, 'longest_d3': 10, 'longest_d4': 17, 'longest_d5': 37,
    'longest_d6': 81, 'longest_d7': 201,
    'shortest_d2': 6, 'shortest_d3': 12, 'shortest_d4': 21, 'shortest_d5': 42,
    'shortest_d6': 91, 'shortest_d7': 237,
    'tree_d2': 5, 'tree_d3': 8, 'tree_d4': 14, 'tree_d5': 32, 'tree_d6': 76, 'tree_d7': 193,
    'balanced_5': 4, 'balanced_17': 16, 'balanced_37': 36, 'balanced_85': 91,
    'balanced_232': 231,
    'label': 1000,
}
NESTED_SETS = (('tree_d2', 'tree_d3', 'tree_d4', 'tree_d5', 'tree_d6', 'tree_d7', 'label'),
               ('balanced_5', 'balanced_17', 'balanced_37', 'balanced_85', 'balanced_232',
                'label'))

# root -> a -> b -> {c1, c4};  root -> x -> w -> c1;  root -> x -> y -> z -> c2;
# a -> c2;  root -> c3.  Classes c1..c4.
TOY_PARENTS = {'a': ['root'], 'x': ['root'], 'b': ['a'], 'w': ['x'], 'y': ['x'], 'z': ['y'],
               'c1': ['b', 'w'], 'c2': ['a', 'z'], 'c3': ['root'], 'c4': ['b']}
TOY_CLASSES = ['c1', 'c2', 'c3', 'c4']


def _toy_table():
  return cuts.hierarchy_from_dag(TOY_PARENTS, TOY_CLASSES, root='root', depths=[2, 3],
                                 group_roots={'xside': 'x'})


@pytest.fixture(scope='module')
def table():
  return json.loads(derive.TABLE_FILE.read_text())


def test_longest_cut_maps_each_class_to_its_most_specific_depth_d_ancestor():
  toy = _toy_table()
  # c1 sits under b (2 classes) and w (1 class): w is more specific. c2's longest path
  # runs through y; c3 is shallower than the cut and stays its own class.
  assert toy['classes']['longest_d2'] == ['b', 'c3', 'w', 'y']
  assert toy['ancestors']['longest_d2'] == [2, 3, 1, 0]
  assert toy['classes']['longest_d3'] == ['c1', 'c3', 'c4', 'z']


def test_shortest_cut_measures_depth_by_the_shortest_path():
  toy = _toy_table()
  # By shortest path c2 (via a) is at depth 2 itself, so it is its own class at d2.
  assert toy['classes']['shortest_d2'] == ['b', 'c2', 'c3', 'w']
  assert toy['ancestors']['shortest_d2'] == [3, 1, 2, 0]


def test_toy_table_levels_run_coarse_to_fine_and_groups_split_the_classes():
  toy = _toy_table()
  assert toy['levels'][-1] == 'label' and toy['classes']['label'] == TOY_CLASSES
  counts = [len(toy['classes'][level]) for level in toy['levels']]
  assert counts == sorted(counts)
  assert toy['groups'] == {'xside': [0, 1], 'non_xside': [2, 3]}


def test_tree_cut_keeps_one_parent_per_node_the_deepest_hypernym():
  tree = cuts.tree_parents(TOY_PARENTS, set(TOY_PARENTS) | {'root'}, 'root')
  assert tree['c1'] == 'b'  # b and w are both at depth 2: the smaller id
  assert tree['c2'] == 'z'  # z (depth 3) is deeper than a (1)
  paths = cuts.tree_paths(tree, TOY_CLASSES)
  assert paths[1] == ['root', 'x', 'y', 'z', 'c2']
  assert cuts.tree_depth_cut(paths, 1) == (['a', 'c3', 'x'], [0, 2, 1, 0])


@pytest.mark.parametrize('levels', NESTED_SETS)
def test_tree_levels_are_nested_each_refines_the_coarser(table, levels):
  for coarse, fine in zip(levels, levels[1:]):
    parent_of = {}
    for c, f in zip(table['ancestors'][coarse], table['ancestors'][fine]):
      assert parent_of.setdefault(f, c) == c, f'{fine} class {f} lies in two {coarse} classes'
    assert len(table['classes'][fine]) > len(table['classes'][coarse])


def test_dag_depth_cuts_are_not_nested_which_is_why_the_study_uses_the_tree(table):
  coarse, fine = table['ancestors']['longest_d4'], table['ancestors']['longest_d5']
  assert len({(f, c) for c, f in zip(coarse, fine)}) > len(set(fine))


def test_committed_wnids_are_tfds_imagenet2012_labels_in_class_order():
  tfds_labels = pathlib.Path(
      tfds.core.tfds_path('datasets/imagenet2012/labels.txt')).read_text().split()
  assert derive.read_wnids() == tfds_labels
  assert len(tfds_labels) == 1000


def test_table_covers_all_1000_wnids_in_label_order(table):
  assert table['classes']['label'] == derive.read_wnids()
  tree = hierarchy.load_hierarchy('imagenet2012')
  assert tree.num_fine == 1000
  assert tree.levels == tuple(table['levels'])


def test_script_regenerates_the_committed_table_byte_identically():
  text = cuts.dumps_hierarchy(derive.derive_table(WORDNET_DIR, derive.read_wnids()))
  assert text == derive.TABLE_FILE.read_text()


def test_human_names_are_the_committed_first_lemmas_with_shared_ones_told_apart():
  wnids = derive.read_wnids()
  names = derive.read_names()
  assert derive.derive_names(WORDNET_DIR, wnids) == [names[w] for w in wnids]
  assert names['n01440764'] == 'tench' and names['n02012849'] == 'crane (wading bird)'
  assert len(set(names.values())) == 1000


def test_class_counts_at_each_cut(table):
  assert cuts.class_counts(table) == EXPECTED_COUNTS


def test_animal_group_is_the_descendants_of_animal_n01_and_non_animal_the_rest(table):
  animal, non_animal = table['groups']['animal'], table['groups']['non_animal']
  assert (len(animal), len(non_animal)) == (398, 602)
  assert sorted(animal + non_animal) == list(range(1000))
  wnids = derive.read_wnids()
  assert wnids[0] == 'n01440764' and 0 in animal          # tench
  assert wnids[999] == 'n15075141' and 999 in non_animal  # toilet tissue


def _write_breeds(folder, parents, classes):
  folder.mkdir()
  edges = sorted({(p, c) for c, ps in parents.items() for p in ps})
  (folder / 'class_hierarchy.txt').write_text(''.join(f'{p} {c}\n' for p, c in edges))
  (folder / 'dataset_class_info.json').write_text(
      json.dumps([[i, w, f'name of {w}', 1] for i, w in enumerate(classes)]))


def test_breeds_edge_list_of_the_wordnet_dag_converts_to_the_committed_table(tmp_path, table):
  wnids = derive.read_wnids()
  noun_parents = derive.read_noun_hypernyms(pathlib.Path(WORDNET_DIR) / 'data.noun')
  nodes = set().union(*cuts.ancestor_sets(noun_parents, wnids).values())
  _write_breeds(tmp_path / 'breeds', {n: noun_parents[n] for n in nodes}, wnids)
  converted = breeds.hierarchy_from_breeds(tmp_path / 'breeds',
                                           group_roots={'animal': derive.ANIMAL})
  assert converted == table


def test_breeds_hierarchy_without_its_files_names_them(tmp_path):
  with pytest.raises(FileNotFoundError, match='class_hierarchy.txt'):
    breeds.hierarchy_from_breeds(tmp_path)
