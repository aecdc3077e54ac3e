"""Hierarchy JSON: providers per dataset, user files, restriction and disjoint union."""
import json

import numpy as np
import pytest

from jaxrobust.datasets import hierarchy as hierarchy_lib
from tests.helpers.subsets import TOY, TOY_FLAT, toy_hierarchy


def test_dataset_dir_hierarchy_json_is_loaded(base_dir):
  h = hierarchy_lib.load_hierarchy(TOY, base_dir)
  assert h.levels == ('coarse', 'mid', 'label')
  assert h.classes['coarse'] == ('bird', 'rock', 'tool')
  assert h.groups['animal'] == tuple(range(8))


def test_flat_dataset_gets_one_level_from_its_label_names(base_dir):
  h = hierarchy_lib.load_hierarchy(TOY_FLAT, base_dir)
  assert h.levels == ('label',) and h.classes['label'] == tuple(f'flat{i}' for i in range(5))


def test_imagenet_uses_the_committed_wordnet_table():
  h = hierarchy_lib.load_hierarchy('imagenet2012', data_dir=None)
  assert h.num_fine == 1000 and h.levels[-1] == 'label'
  assert {'animal', 'non_animal'} <= set(h.groups)
  assert len(h.groups['animal']) + len(h.groups['non_animal']) == 1000


def test_user_file_round_trips(tmp_path):
  path = tmp_path / 'mine.json'
  toy_hierarchy().save(path)
  loaded = hierarchy_lib.load_hierarchy_file(path)
  assert loaded.to_json() == toy_hierarchy().to_json()


def test_malformed_file_is_refused_with_the_level_named(tmp_path):
  obj = toy_hierarchy().to_json()
  obj['ancestors']['mid'] = obj['ancestors']['mid'][:-1]
  path = tmp_path / 'bad.json'
  path.write_text(json.dumps(obj))
  with pytest.raises(hierarchy_lib.HierarchyError, match=r"ancestors\['mid'\] has 23 entries"):
    hierarchy_lib.load_hierarchy_file(path)


def test_missing_file_is_named(tmp_path):
  with pytest.raises(hierarchy_lib.HierarchyError, match='nope.json not found'):
    hierarchy_lib.load_hierarchy_file(tmp_path / 'nope.json')


def test_names_resolve_to_fine_classes_by_group_or_any_level():
  h = toy_hierarchy()
  assert h.fine_ids('animal').tolist() == list(range(8))
  assert h.fine_ids(['rock', 'fine01']).tolist() == [1] + list(range(8, 16))


def test_restrict_keeps_only_present_ancestors_with_contiguous_ids():
  r = toy_hierarchy().restrict([20, 3, 9])
  assert r.classes['label'] == ('fine20', 'fine03', 'fine09')
  assert r.classes['coarse'] == ('bird', 'rock', 'tool')
  assert r.ancestors['coarse'].tolist() == [2, 0, 1]
  assert r.classes['mid'] == ('mid0', 'mid2', 'mid5') and r.ancestors['mid'].tolist() == [2, 0, 1]
  assert r.groups['animal'] == (1,)


def test_concatenate_offsets_ids_and_keeps_common_levels():
  flat = hierarchy_lib.flat_hierarchy(['x', 'y'])
  both = hierarchy_lib.concatenate([toy_hierarchy(), flat], ['a', 'b'])
  assert both.levels == ('label',)
  assert both.classes['label'][-2:] == ('b:x', 'b:y')
  np.testing.assert_array_equal(both.ancestors['label'], np.arange(26))
