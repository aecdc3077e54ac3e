"""Spec parsing, naming and label keys: computable without any data."""
import ml_collections
import pytest

from jaxrobust.datasets import subsets
from jaxrobust.datasets.subsets import spec as spec_lib
from tests.helpers.subsets import spec


def test_name_is_readable_and_needs_no_data():
  name = subsets.subset_name(spec(num_classes=6, images_per_class=9, seed=3))
  assert name.startswith('subset/toy_hierarchy-three_level_k6_m9_s3_')


def test_config_dict_and_dict_give_the_same_name():
  assert (subsets.subset_name(ml_collections.ConfigDict(spec(num_examples=40)))
          == subsets.subset_name(spec(num_examples=40)))


def test_label_level_does_not_change_the_name():
  names = {subsets.subset_name(spec(num_examples=40, label_level=level))
           for level in (None, 'coarse', 'mid', 'label')}
  assert len(names) == 1


@pytest.mark.parametrize('change', [{'num_examples': 41}, {'seed': 1}, {'nested': False},
                                    {'class_filter': 'animal'}, {'num_classes': 4}])
def test_selection_fields_change_the_name(change):
  assert subsets.subset_name(spec(num_examples=40)) != subsets.subset_name(
      spec(**{'num_examples': 40, **change}))


def test_label_key_follows_level_then_diversity_level():
  assert subsets.label_key(spec()) == 'label'
  assert subsets.label_key(spec(label_level='coarse')) == 'label_coarse'
  diverse = spec(diversity={'level': 'mid', 'subclasses_per_superclass': 2,
                            'images_per_superclass': 8})
  assert subsets.label_key(diverse) == 'label_mid'


def test_weights_split_exactly():
  assert spec_lib.split_by_weight(10, [0.5, 0.25, 0.25]) == [5, 3, 2]
  assert sum(spec_lib.split_by_weight(1001, [1 / 3] * 3)) == 1001


@pytest.mark.parametrize('fields,message', [
    ({'sources': [{'name': 'a', 'weight': 0.5}, {'name': 'b', 'weight': 0.4}],
      'num_examples': 10}, r'sources: weights sum to 0\.9'),
    ({'num_examples': 10, 'num_classes': 3, 'images_per_class': 4}, r'num_examples=10 must equal'),
    ({'num_examples': 10, 'images_per_class': 4}, r'largest feasible num_examples below it is 8'),
    ({'num_examples': 0}, r'num_examples=0 must be a positive integer'),
    ({'sources': [{'name': 'a', 'weight': 0.5}, {'name': 'b', 'weight': 0.5}]},
     r'num_examples: a mixture'),
    ({'diversity': {'level': 'mid', 'subclasses_per_superclass': 2}},
     r'diversity.images_per_superclass is missing'),
    ({'diversity': {'level': 'mid', 'subclasses_per_superclass': 5, 'images_per_superclass': 4}},
     r'largest feasible diversity.subclasses_per_superclass is 4'),
    ({'benchmark': 'synthetic_wildcam/tiny'}, r'benchmark and benchmark_classes go together'),
    ({'benchmark_classes': 'keep'}, r'benchmark and benchmark_classes go together'),
    ({'benchmark': 'synthetic_wildcam/tiny', 'benchmark_classes': 'only'},
     r"benchmark_classes='only': use one of keep, drop"),
])
def test_impossible_specs_are_refused_before_reading_data(fields, message):
  with pytest.raises(spec_lib.SpecError, match=message):
    subsets.subset_name(spec(**fields))


def test_diversity_max_ratio_names_its_own_subset_and_unset_leaves_the_name_alone():
  diversity = {'level': 'mid', 'subclasses_per_superclass': 2, 'images_per_superclass': 8}
  plain = spec_lib.as_spec(spec(diversity=diversity))
  assert 'max_ratio' not in plain.to_json()['diversity']
  shared = spec_lib.as_spec(spec(diversity=dict(diversity, max_ratio=3)))
  assert shared.diversity.max_ratio == 3
  assert subsets.subset_name(spec(diversity=diversity)) != subsets.subset_name(
      spec(diversity=dict(diversity, max_ratio=3)))


def test_a_benchmark_rule_names_its_own_subset_and_unset_leaves_the_name_alone():
  plain = spec_lib.as_spec(spec(num_classes=4))
  assert not {'benchmark', 'benchmark_classes'} & set(plain.to_json())
  assert subsets.subset_name(spec(num_classes=4)) == subsets.subset_name(
      spec(num_classes=4, benchmark=None, benchmark_classes=None))
  names = {subsets.subset_name(spec(num_classes=4, benchmark=benchmark, benchmark_classes=rule))
           for benchmark, rule in ((None, None), ('synthetic_wildcam/tiny', 'keep'),
                                   ('synthetic_wildcam/tiny', 'drop'),
                                   ('synthetic_wildcam/tiny/seed=1', 'keep'))}
  assert len(names) == 4
  assert '_keep-benchmark_' in subsets.subset_name(
      spec(num_classes=4, benchmark='synthetic_wildcam/tiny', benchmark_classes='keep'))


def test_part_names_its_own_subset_and_unset_leaves_the_name_alone():
  whole = spec_lib.subset_name(spec(num_examples=40))
  assert spec_lib.subset_name(spec(num_examples=40, part=None)) == whole
  halves = {spec_lib.subset_name(spec(num_examples=40, part=(i, 2))) for i in range(2)}
  assert len(halves) == 2 and whole not in halves
  assert all('_part' in name for name in halves)


@pytest.mark.parametrize('part', [(2, 2), (0, 1), (-1, 3), 'a', (1,)])
def test_impossible_parts_are_refused(part):
  with pytest.raises(spec_lib.SpecError, match=r'^part='):
    spec_lib.as_spec(spec(num_examples=40, part=part))
