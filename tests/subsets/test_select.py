"""Selection: quantities honoured exactly, balanced, nested, seeded; impossible specs refused."""
import dataclasses
import re

import numpy as np
import pytest

from jaxrobust.datasets.subsets import select as select_lib
from jaxrobust.datasets.subsets import spec as spec_lib
from tests.helpers.subsets import TOY, TOY_FLAT, spec, toy_class_size, toy_hierarchy

HIERARCHY = toy_hierarchy()
# 24 fine classes of 10..16 records, interleaved like a real dataset on disk.
LABELS = np.random.default_rng(0).permutation(
    np.repeat(np.arange(24), [toy_class_size(c) for c in range(24)]))


def choose(rule: str | None = None, benchmark_ids=(), **fields) -> select_lib.Selection:
  """Selects from the toy base; `rule` keeps or drops the fine classes `benchmark_ids`."""
  (quota,) = select_lib.quotas(spec_lib.as_spec(spec(**fields)))
  quota = dataclasses.replace(quota, benchmark_classes=rule, benchmark_ids=tuple(benchmark_ids))
  return select_lib.select(LABELS, HIERARCHY, quota)


def per_class(selection) -> dict[int, int]:
  classes, counts = np.unique(selection.fine_ids, return_counts=True)
  return dict(zip(classes.tolist(), counts.tolist()))


def test_selected_labels_are_the_records_labels():
  selection = choose(num_examples=100)
  np.testing.assert_array_equal(LABELS[selection.record_ids], selection.fine_ids)
  assert np.all(np.diff(selection.record_ids) > 0)


def test_num_examples_is_exact_and_class_balanced():
  counts = per_class(choose(num_examples=100))
  assert sum(counts.values()) == 100
  assert len(counts) == 24 and set(counts.values()) == {4, 5}


def test_classes_times_images_per_class_is_exact():
  counts = per_class(choose(num_classes=6, images_per_class=9))
  assert len(counts) == 6 and set(counts.values()) == {9}


def test_num_examples_with_num_classes_balances_over_those_classes():
  counts = per_class(choose(num_examples=38, num_classes=4))
  assert len(counts) == 4 and sorted(counts.values()) == [9, 9, 10, 10]


def test_group_filter_keeps_only_its_classes():
  counts = per_class(choose(num_classes=5, images_per_class=10, class_filter='non_animal'))
  assert len(counts) == 5 and set(counts) <= set(HIERARCHY.groups['non_animal'])


def test_filter_by_class_names_at_any_level():
  counts = per_class(choose(class_filter=['mid1', 'fine20']))
  assert set(counts) == {4, 5, 6, 7, 20}
  assert counts[5] == toy_class_size(5)  # No quantity given: all images of those classes.


def test_diversity_takes_r_subclasses_and_fixed_images_per_superclass():
  selection = choose(diversity={'level': 'coarse', 'subclasses_per_superclass': 3,
                                'images_per_superclass': 30})
  counts = per_class(selection)
  supers = HIERARCHY.ancestors['coarse'][selection.fine_ids]
  assert np.bincount(supers).tolist() == [30, 30, 30]
  for s in range(3):
    assert len([c for c in counts if HIERARCHY.ancestors['coarse'][c] == s]) == 3
  assert set(counts.values()) == {10}


def test_max_ratio_draws_every_ratio_from_the_same_superclasses_and_subclasses():
  diversity = {'level': 'mid', 'images_per_superclass': 12, 'max_ratio': 3}
  picks = [choose(num_classes=4, diversity=dict(diversity, subclasses_per_superclass=r))
           for r in (1, 2, 3)]
  supers = [set(HIERARCHY.ancestors['mid'][p.fine_ids].tolist()) for p in picks]
  assert len(supers[0]) == 4 and supers[0] == supers[1] == supers[2]
  for r, pick in zip((1, 2, 3), picks):
    counts = per_class(pick)
    assert len(counts) == 4 * r and sum(counts.values()) == 4 * 12
    assert min(toy_class_size(c) for c in counts) >= 12  # each could hold 12 alone


def test_max_ratio_refuses_a_pool_without_enough_large_subclasses():
  with pytest.raises(spec_lib.SpecError, match=r'^diversity.max_ratio=3: no superclass'):
    choose(diversity={'level': 'mid', 'subclasses_per_superclass': 1,
                      'images_per_superclass': 14, 'max_ratio': 3})
  with pytest.raises(spec_lib.SpecError, match=r'^diversity.max_ratio=2 is less than'):
    choose(diversity={'level': 'mid', 'subclasses_per_superclass': 3,
                      'images_per_superclass': 12, 'max_ratio': 2})


def test_same_seed_same_selection_other_seed_other_selection():
  a, b, c = choose(num_examples=60), choose(num_examples=60), choose(num_examples=60, seed=1)
  np.testing.assert_array_equal(a.record_ids, b.record_ids)
  assert not np.array_equal(a.record_ids, c.record_ids)


def test_other_seeds_pick_other_class_sets_when_not_every_class_is_taken():
  class_sets = {frozenset(per_class(choose(num_classes=6, images_per_class=5, seed=seed)))
                for seed in range(6)}
  assert len(class_sets) == 6


@pytest.mark.parametrize('fields', [
    {'num_classes': 6, 'images_per_class': 5},
    {'num_examples': 30, 'num_classes': 6},
    {'num_classes': 6, 'class_filter': 'non_animal'},
])
def test_over_many_seeds_every_class_is_picked_at_rate_k_over_total(fields):
  seeds = 400
  pool = (np.asarray(HIERARCHY.groups[fields['class_filter']]) if 'class_filter' in fields
          else np.arange(24))
  picked = np.zeros(24, int)
  for seed in range(seeds):
    picked[list(per_class(choose(seed=seed, **fields)))] += 1
  rate = 6 / len(pool)
  # The selection is deterministic per seed, so this never flakes; the bound is 4.5 binomial
  # standard deviations (a fixed class order would pick some class at rate 1, others at 0).
  bound = 4.5 * np.sqrt(seeds * rate * (1 - rate))
  np.testing.assert_array_less(np.abs(picked[pool] - seeds * rate), bound)
  assert picked.sum() == picked[pool].sum()


@pytest.mark.parametrize('small,large', [
    ({'num_examples': 30}, {'num_examples': 200}),
    ({'num_examples': 23}, {'num_examples': 25}),
    ({'num_classes': 5, 'images_per_class': 4}, {'num_classes': 12, 'images_per_class': 10}),
    ({'diversity': {'level': 'mid', 'subclasses_per_superclass': 2, 'images_per_superclass': 8}},
     {'diversity': {'level': 'mid', 'subclasses_per_superclass': 4, 'images_per_superclass': 40}}),
])
def test_nested_smaller_quantities_are_subsets_of_larger(small, large):
  for seed in range(4):
    assert set(choose(seed=seed, **small).record_ids) < set(choose(seed=seed, **large).record_ids)


def test_unnested_quantities_are_drawn_independently():
  small = choose(num_examples=48, nested=False)
  large = choose(num_examples=96, nested=False)
  assert not set(small.record_ids) <= set(large.record_ids)


def with_value(fields: dict, field: str, value: int) -> dict:
  if field.startswith('diversity.'):
    return dict(fields, diversity=dict(fields['diversity'], **{field.split('.')[1]: value}))
  return dict(fields, **{field: value})


@pytest.mark.parametrize('fields,field', [
    ({'images_per_class': 11, 'num_classes': 24}, 'images_per_class'),
    ({'num_examples': 300}, 'num_examples'),
    ({'num_examples': 120, 'num_classes': 4}, 'num_examples'),
    ({'num_classes': 30}, 'num_classes'),
    ({'num_classes': 9, 'class_filter': 'animal'}, 'num_classes'),
    ({'diversity': {'level': 'mid', 'subclasses_per_superclass': 5,
                    'images_per_superclass': 20}}, 'diversity.subclasses_per_superclass'),
    ({'diversity': {'level': 'coarse', 'subclasses_per_superclass': 8,
                    'images_per_superclass': 100}}, 'diversity.images_per_superclass'),
])
def test_impossible_spec_names_field_and_largest_feasible_value(fields, field):
  with pytest.raises(spec_lib.SpecError, match=rf'^{field}=') as error:
    choose(**fields)
  largest = int(re.search(rf'largest feasible {field} is (\d+)\.', str(error.value)).group(1))
  choose(**with_value(fields, field, largest))  # The largest feasible value is feasible...
  with pytest.raises(spec_lib.SpecError, match=rf'^{field}='):
    choose(**with_value(fields, field, largest + 1))  # ...and it is the largest.


def test_unknown_filter_and_level_are_refused_by_name():
  with pytest.raises(spec_lib.SpecError, match='class_filter'):
    choose(class_filter='plants')
  with pytest.raises(ValueError, match="diversity.level='genus'"):
    choose(diversity={'level': 'genus', 'subclasses_per_superclass': 1,
                      'images_per_superclass': 5})


def test_a_mixture_splits_classes_and_examples_by_weight():
  mixture = spec_lib.as_spec(spec(num_classes=8, images_per_class=5, sources=[
      {'name': TOY, 'weight': 0.75}, {'name': TOY_FLAT, 'weight': 0.25}]))
  first, second = select_lib.quotas(mixture)
  assert (first.num_classes, second.num_classes) == (6, 2)
  for quota, num_classes in ((first, 6), (second, 2)):
    counts = per_class(select_lib.select(LABELS, HIERARCHY, quota))
    assert len(counts) == num_classes and set(counts.values()) == {5}


def test_min_images_per_class_draws_only_from_classes_that_hold_that_many():
  fields = {'num_classes': 12, 'images_per_class': 12}
  with pytest.raises(spec_lib.SpecError, match=r'^images_per_class=12'):
    choose(**fields)  # 6 of the 24 classes hold 10 images
  counts = per_class(choose(min_images_per_class=12, **fields))
  assert len(counts) == 12 and set(counts.values()) == {12}
  assert min(toy_class_size(c) for c in counts) >= 12
  with pytest.raises(spec_lib.SpecError, match=r'^num_classes=19 is more than the 18 classes'):
    choose(min_images_per_class=12, num_classes=19, images_per_class=12)


BENCHMARK = (1, 5, 14, 22)  # fine classes of a stand-in benchmark, in 3 coarse and 4 mid classes


@pytest.mark.parametrize('seed', range(4))
def test_keep_moves_the_benchmark_classes_to_the_front_of_the_seeded_class_order(seed):
  order = []  # the plain class order, read off nested selections of 1, 2, ... classes
  for k in range(1, 25):
    order += sorted(set(per_class(choose(num_classes=k, images_per_class=5, seed=seed)))
                    - set(order))
  kept_order = [c for c in order if c in BENCHMARK] + [c for c in order if c not in BENCHMARK]
  for k in (2, 6, 10):
    kept = set(per_class(choose('keep', BENCHMARK, num_classes=k, images_per_class=5,
                                seed=seed)))
    assert kept == set(kept_order[:k])


@pytest.mark.parametrize('fields', [
    {'num_classes': 20, 'images_per_class': 5},
    {'num_examples': 100},
    {'diversity': {'level': 'mid', 'subclasses_per_superclass': 3, 'images_per_superclass': 12,
                   'max_ratio': 3}},
])
def test_drop_leaves_the_benchmark_classes_out(fields):
  assert set(BENCHMARK) & set(per_class(choose(**fields)))
  assert not set(BENCHMARK) & set(per_class(choose('drop', BENCHMARK, **fields)))


def test_drop_with_max_ratio_keeps_only_superclasses_with_enough_other_subclasses():
  diversity = {'level': 'mid', 'images_per_superclass': 10, 'max_ratio': 4}
  picks = [choose('drop', BENCHMARK, diversity=dict(diversity, subclasses_per_superclass=r))
           for r in (1, 4)]
  supers = [set(HIERARCHY.ancestors['mid'][p.fine_ids].tolist()) for p in picks]
  # Classes 1, 5, 14, 22 are in mid classes 0, 1, 3, 5: only 2 and 4 keep 4 other subclasses.
  assert supers[0] == supers[1] == {2, 4}


def test_keep_under_diversity_takes_the_benchmark_subclasses_first():
  pick = choose('keep', BENCHMARK, diversity={'level': 'mid', 'subclasses_per_superclass': 1,
                                              'images_per_superclass': 10})
  assert set(BENCHMARK) <= set(per_class(pick))  # one per mid class, each a different one


def test_drop_of_every_class_in_the_pool_is_refused():
  with pytest.raises(spec_lib.SpecError, match=r"^benchmark_classes='drop' leaves no class"):
    choose('drop', range(8), class_filter='animal', num_classes=2)


def test_a_benchmark_whose_classes_are_not_known_is_refused():
  with pytest.raises(spec_lib.SpecError, match=r"^benchmark_classes='keep': which classes of "
                     r'toy_hierarchy/three_level are classes of benchmark=.iwildcam/448.'):
    select_lib.quotas(spec_lib.as_spec(spec(num_classes=4, benchmark='iwildcam/448',
                                            benchmark_classes='keep')))


def test_parts_of_one_seed_are_disjoint_and_drawn_alike():
  halves = [choose(num_examples=96, part=(i, 2)) for i in range(2)]
  assert not set(halves[0].record_ids) & set(halves[1].record_ids)
  for half in halves:  # same size, same classes, balanced: the same distribution
    assert per_class(half) == per_class(halves[0]) and sum(per_class(half).values()) == 96
  whole = set(choose(num_examples=96).record_ids)
  assert set(halves[0].record_ids) != whole and set(halves[1].record_ids) != whole
  # Each class's records are dealt alternately: part sizes differ by at most one record.
  thirds = [choose(part=(i, 3)) for i in range(3)]
  assert sum(len(t.record_ids) for t in thirds) == len(LABELS)
  assert len(set().union(*(set(t.record_ids) for t in thirds))) == len(LABELS)


def test_a_part_holds_only_its_share_of_each_class():
  with pytest.raises(spec_lib.SpecError, match=r'^images_per_class=6 .* largest feasible '
                                               r'images_per_class is 5\.'):
    choose(num_classes=24, images_per_class=6, part=(1, 2))  # the smallest class has 10
