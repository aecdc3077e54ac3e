"""analyze(): per-model intervals from predictions files, groups and caveats."""
import numpy as np
import pytest

from jaxrobust.analysis import load
from jaxrobust.analysis import pipeline


def _analyze(study_dir, **kwargs):
  return pipeline.analyze(load.load_results(str(study_dir)), num_resamples=200, **kwargs)


def test_groups_default_to_the_pretrain_columns_that_tell_settings_apart(study_dir):
  # images_per_class follows from num_examples here, seed is a replicate: neither groups
  result = _analyze(study_dir)
  assert result.group_by == ['pretrain.num_examples']
  assert list(result.groups['group'])[0] == 'scratch'
  assert result.groups['n_models'].tolist() == [6, 3, 3]


def test_group_er_is_the_mean_of_its_models_and_the_difference_interval_holds_the_shift(
    study_dir):
  result = _analyze(study_dir, group_by=['pretrain.num_examples'])
  mean_er = result.table.groupby('pretrain.num_examples')['er'].mean()
  groups = result.groups.set_index('pretrain.num_examples')
  np.testing.assert_allclose(groups.loc[mean_er.index, 'er'], mean_er, rtol=1e-12)
  difference = result.differences.iloc[0]
  assert (difference['group_a'], difference['group_b']) == ('25,000 images', '1,000,000 images')
  assert difference['er_difference'] == pytest.approx(mean_er[25_000] - mean_er[1_000_000],
                                                      rel=1e-12)
  # The point estimate is off the true -6 points by test-set noise (600 examples per split:
  # from -3 to -11 over fixture seeds 0-4), so only the interval is checked against the truth.
  assert difference['low'] < -6.0 < difference['high']


def test_groups_of_fewer_than_three_models_get_no_line_of_their_own(study_dir):
  (study_dir / 'runs/ft_25000_2/result.json').unlink()
  groups = _analyze(study_dir).groups.set_index('group')
  assert groups.loc['25,000 images', 'n_models'] == 2
  assert np.isnan(groups.loc['25,000 images', ['slope', 'intercept']].astype(float)).all()
  assert np.isfinite(groups.loc['1,000,000 images', ['slope', 'intercept']].astype(float)).all()


def test_model_intervals_come_from_its_test_examples_and_the_trend(study_dir):
  (study_dir / 'runs/ft_25000_0/predictions_test.npz').unlink()
  (study_dir / 'runs/ft_25000_1/predictions_test.npz').unlink()
  (study_dir / 'runs/ft_25000_1/predictions_id_test.npz').unlink()
  table = _analyze(study_dir).table.set_index('run_id')
  assert table.loc['ft_25000_2', 'interval_covers'] == (
      'ID test examples + OOD test examples + trend')
  assert table.loc['ft_25000_0', 'interval_covers'] == 'ID test examples + trend'
  assert table.loc['ft_25000_1', 'interval_covers'] == 'trend'
  assert np.isnan(table.loc['ft_25000_1', 'id_low'])
  row = table.loc['ft_25000_2']
  assert row['id_low'] < row['id'] < row['id_high']
  assert row['er_low'] < row['er'] < row['er_high']
  # the test examples widen the ER interval beyond the trend part alone
  with_examples = row['er_high'] - row['er_low']
  trend_only = table.loc['ft_25000_1', 'er_high'] - table.loc['ft_25000_1', 'er_low']
  assert with_examples > trend_only


def test_intervals_are_reproducible_with_the_seed(study_dir):
  first = _analyze(study_dir, seed=3).table
  again = _analyze(study_dir, seed=3).table
  other = _analyze(study_dir, seed=4).table
  assert first.equals(again)
  assert not first['er_low'].equals(other['er_low'])


def test_predictions_that_disagree_with_result_json_are_noted(study_dir):
  path = study_dir / 'runs/scratch_1/predictions_test.npz'
  with np.load(path) as npz:
    labels = npz['labels']
  np.savez(path, labels=labels, predictions=labels)  # now 100% correct
  result = _analyze(study_dir)
  assert any(n.startswith('scratch_1: macro_f1 recomputed from predictions_test.npz')
             for n in result.notes)


def test_few_baseline_models_are_noted(study_dir):
  result = _analyze(study_dir, baseline="run_id in ['scratch_0', 'scratch_5']")
  assert any('Only 2 baseline models' in n for n in result.notes)


def test_an_unknown_group_by_column_names_the_available_ones(study_dir):
  with pytest.raises(ValueError, match=r"No column \['pretrain.size'\].*pretrain.num_examples"):
    _analyze(study_dir, group_by=['pretrain.size'])


def test_skipped_evaluation_images_and_the_selection_rule_reach_the_report(study_dir):
  df = load.load_results(str(study_dir))
  df['skipped_eval_images.test'] = '["train/a.jpg"]'
  df['selection.rule'] = 'ood_val'
  result = pipeline.analyze(df, num_resamples=20)
  assert result.selection == 'ood_val'
  assert any('`test` lacks 1 unreadable image' in note for note in result.notes)
  assert not any('unreadable' in note for note in _analyze(study_dir).notes)
