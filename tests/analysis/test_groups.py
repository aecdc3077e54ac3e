"""The group bootstrap: members resampled, trend resamples paired, the level carried through."""
import numpy as np
import pandas as pd
import pytest

from jaxrobust.analysis import groups as groups_lib
from jaxrobust.analysis import load
from jaxrobust.analysis import pipeline


def test_resampling_members_with_constant_replicates_spreads_the_mean_by_sd_over_sqrt_k():
  # Each member's replicates are constant (no test-set noise, no trend part): all the
  # spread of the mean comes from drawing members, sd / sqrt(k) with the members' own sd
  # (divisor k, as the bootstrap sees its sample).
  k, num_resamples = 6, 20_000
  values = np.array([-4.0, -1.0, 0.0, 2.0, 3.0, 7.0])
  member_replicates = np.repeat(values[:, None], num_resamples, axis=1)
  means = groups_lib.mean_replicates(member_replicates, np.random.default_rng(0))
  assert means.mean() == pytest.approx(values.mean(), abs=0.05)
  assert means.std() == pytest.approx(values.std() / np.sqrt(k), rel=0.03)


def test_each_drawn_member_brings_the_replicate_of_the_same_trend_resample():
  # Member i's replicate b is i + 1000 * b: a mean built from replicate b of every drawn
  # member lies within [1000 b, 1000 b + k - 1].
  k, num_resamples = 4, 500
  member_replicates = np.arange(k)[:, None] + 1000.0 * np.arange(num_resamples)[None, :]
  means = groups_lib.mean_replicates(member_replicates, np.random.default_rng(1))
  offsets = means - 1000.0 * np.arange(num_resamples)
  assert ((offsets >= 0) & (offsets <= k - 1)).all()
  assert offsets.std() > 0.3  # and the members drawn differ between resamples


def test_fine_tunes_of_one_pretrained_model_are_resampled_within_it():
  # Five pre-trained models, four fine-tunes each, constant replicates: model means spread
  # widely, fine-tunes of one model little. Drawing models, then fine-tunes within each,
  # spreads the group mean by sqrt(var_models / K + mean within variance / (K M)) (divisors K
  # and M, as the bootstrap sees its sample); drawing the 20 runs alone would not see that
  # runs of one model move together.
  model_means = np.array([-4.0, -1.0, 0.0, 2.0, 3.0])
  within = np.array([-0.5, -0.1, 0.2, 0.4])
  values = (model_means[:, None] + within[None, :]).ravel()
  backbone = np.repeat([f'model{i}' for i in range(5)], 4)
  num_resamples = 20_000
  member_replicates = np.repeat(values[:, None], num_resamples, axis=1)
  means = groups_lib.mean_replicates(member_replicates, np.random.default_rng(3), backbone)
  expected = np.sqrt(model_means.var() / 5 + within.var() / 20)
  assert means.mean() == pytest.approx(values.mean(), abs=0.05)
  assert means.std() == pytest.approx(expected, rel=0.03)
  flat = groups_lib.mean_replicates(member_replicates, np.random.default_rng(3))
  assert flat.std() < 0.6 * means.std()


def test_one_pretrained_model_or_one_per_run_resamples_the_runs():
  member_replicates = np.random.default_rng(4).normal(size=(6, 300))
  flat = groups_lib.mean_replicates(member_replicates, np.random.default_rng(5))
  for backbone in (['m'] * 6, [f'm{i}' for i in range(6)]):
    np.testing.assert_array_equal(
        groups_lib.mean_replicates(member_replicates, np.random.default_rng(5), backbone), flat)


def test_backbones_come_from_the_checkpoint_column_and_default_to_the_run():
  df = pd.DataFrame({'run_id': ['f1', 'f2', 'f3', 's1'],
                     'pretrain_checkpoint': ['/w/runs/p1/checkpoints/9', '/v/runs/p1/checkpoints/9',
                                             '/w/runs/p2/checkpoints/9/', None]})
  assert groups_lib.backbones(df).tolist() == ['p1/checkpoints/9', 'p1/checkpoints/9',
                                               'p2/checkpoints/9', 's1']
  assert groups_lib.backbones(df[['run_id']]).tolist() == ['f1', 'f2', 'f3', 's1']


def _group_tables(er_replicates, table, margin=2.0):
  groups, replicates = groups_lib.group_table(table, er_replicates, [], margin, seed=0)
  return groups.set_index('group'), groups_lib.group_differences(groups, replicates, margin)


def test_a_large_trend_component_shared_by_two_groups_cancels_in_their_difference():
  # Every model's ER replicate b = a trend part shared by all (sd 10 points) + its own test
  # noise (sd 0.3) + its point value; the groups' members differ by little.
  rng = np.random.default_rng(2)
  num_resamples = 2000
  trend_part = rng.normal(0, 10, num_resamples)
  values = {'a0': 1.0, 'a1': 1.2, 'a2': 0.9, 'b0': 3.0, 'b1': 3.1, 'b2': 2.8}
  er_replicates = {r: v + trend_part + rng.normal(0, 0.3, num_resamples)
                   for r, v in values.items()}
  table = pd.DataFrame({'run_id': list(values), 'group': [r[0] for r in values],
                        'id': 0.5, 'ood': 0.4, 'er': list(values.values())})
  groups, differences = _group_tables(er_replicates, table)
  assert (groups['er_high'] - groups['er_low'] > 30).all()  # the trend dominates each group
  difference = differences.iloc[0]
  assert (difference['group_a'], difference['group_b']) == ('a', 'b')
  assert difference['high'] - difference['low'] < 1.5  # but cancels in the difference
  assert difference['low'] < -2.0 < difference['high']
  assert difference['verdict'] == 'different'


def test_a_non_default_level_reaches_model_group_difference_and_line_intervals(study_dir):
  results = load.load_results(str(study_dir))
  wide = pipeline.analyze(results, num_resamples=400, seed=1)
  narrow = pipeline.analyze(results, num_resamples=400, seed=1, level=0.8)

  def nested(inner, outer, low='low', high='high'):
    """Whether every finite interval of `inner` lies strictly inside that of `outer`."""
    known = inner[low].notna()
    return ((inner[low] > outer[low]) & (inner[high] < outer[high]))[known].all()

  for column in ('id', 'ood', 'er'):
    assert nested(narrow.table, wide.table, f'{column}_low', f'{column}_high'), column
  for column in ('er', 'slope', 'intercept'):
    assert nested(narrow.groups, wide.groups, f'{column}_low', f'{column}_high'), column
  for name in ('differences', 'line_differences'):
    inner, outer = getattr(narrow, name), getattr(wide, name)
    assert len(inner) == len(outer) == 1
    assert nested(inner, outer), name
    # the equivalence interval is the 2 * level - 1 one: 60% here, 90% at level 0.95
    assert nested(inner, outer, 'equivalence_low', 'equivalence_high'), name
    assert nested(inner.assign(low=inner['equivalence_low'], high=inner['equivalence_high']),
                  inner), name
