"""The baseline trend fit and effective robustness against it."""
import numpy as np
import pandas as pd
import pytest

from jaxrobust.analysis import errors
from jaxrobust.analysis import pipeline
from jaxrobust.analysis import transforms
from jaxrobust.analysis import trend


def _rows(run_ids, kind, id_scores, ood_scores, num_examples=None):
  rows = pd.DataFrame({'run_id': run_ids, 'kind': kind, 'metrics.id.macro_f1': id_scores,
                       'metrics.ood.macro_f1': ood_scores})
  if num_examples is not None:
    rows['pretrain.num_examples'] = num_examples
  return rows


def _study_around_line(transform, slope, intercept, shift_points, noise, seed=0):
  """30 baseline points around a line in `transform` space and 10 points shifted up."""
  t = transforms.get_transform(transform)
  rng = np.random.default_rng(seed)
  base_id = t.inverse(rng.uniform(t(0.2), t(0.8), 30))
  base_ood = t.inverse(slope * t(base_id) + intercept + rng.normal(0, noise, 30))
  group_id = t.inverse(rng.uniform(t(0.4), t(0.8), 10))
  group_ood = t.inverse(slope * t(group_id) + intercept) + shift_points / 100
  return pd.concat([
      _rows([f's{i}' for i in range(30)], 'scratch', base_id, base_ood),
      _rows([f'f{i}' for i in range(10)], 'finetune', group_id, group_ood, 100_000)],
      ignore_index=True)


@pytest.mark.parametrize('transform', ['logit', 'probit', 'identity'])
def test_fit_recovers_an_exact_line_and_the_shift_of_a_group(transform):
  slope, intercept = (0.9, -0.1) if transform == 'identity' else (1.2, -0.5)
  df = _study_around_line(transform, slope, intercept, shift_points=4.0, noise=0.0)
  fitted = trend.fit_baseline_trend(df, transform=transform)
  assert fitted.slope == pytest.approx(slope, abs=1e-9)
  assert fitted.intercept == pytest.approx(intercept, abs=1e-9)
  er = trend.effective_robustness(df, fitted)
  np.testing.assert_allclose(er.loc[df['kind'] == 'finetune', 'er'], 4.0, atol=1e-7)
  np.testing.assert_allclose(er.loc[df['kind'] == 'scratch', 'er'], 0.0, atol=1e-7)


def test_fit_recovers_a_noisy_logit_line_and_the_groups_er_within_its_interval():
  df = _study_around_line('logit', 1.1, -0.6, shift_points=5.0, noise=0.05)
  result = pipeline.analyze(df, group_by=['pretrain.num_examples'],
                            predictions=lambda row, split: None)
  assert result.trend.slope == pytest.approx(1.1, abs=0.06)
  assert result.trend.intercept == pytest.approx(-0.6, abs=0.03)
  group = result.groups.set_index('group').loc['100,000 images']
  assert group['er'] == pytest.approx(5.0, abs=0.5)
  assert group['er_low'] < 5.0 < group['er_high']


def test_er_is_ood_minus_the_trends_expectation_in_points():
  df = _rows(['a', 'b', 'c'], ['scratch', 'scratch', 'finetune'], [0.2, 0.6, 0.5],
             [0.1, 0.4, 0.45])
  fitted = trend.fit_baseline_trend(df)
  er = trend.effective_robustness(df, fitted).set_index('run_id')
  expected = fitted.expected_ood(0.5)
  assert er.loc['c', 'expected_ood'] == pytest.approx(expected)
  assert er.loc['c', 'er'] == pytest.approx(100 * (0.45 - expected))


def test_scores_of_exactly_zero_and_one_are_clipped_not_infinite():
  df = _rows(['a', 'b', 'c', 'd'], ['scratch', 'scratch', 'scratch', 'finetune'],
             [0.0, 0.5, 1.0, 1.0], [0.0, 0.3, 1.0, 1.0])
  fitted = trend.fit_baseline_trend(df)
  assert np.isfinite([fitted.slope, fitted.intercept]).all()
  er = trend.effective_robustness(df, fitted)
  assert np.isfinite(er['er']).all()
  logit = transforms.get_transform('logit')
  assert logit(np.array([0.0, 1.0])) == pytest.approx([logit(1e-4), logit(1 - 1e-4)])


def test_fewer_than_two_baseline_models_is_a_clear_error():
  df = _rows(['a', 'b'], ['scratch', 'finetune'], [0.3, 0.5], [0.2, 0.4])
  with pytest.raises(ValueError, match='at least two baseline models to fit the trend, found 1'):
    trend.fit_baseline_trend(df)


def test_baseline_models_with_one_id_score_are_a_clear_error():
  df = _rows(['a', 'b'], ['scratch', 'scratch'], [0.3, 0.3], [0.2, 0.25])
  with pytest.raises(ValueError, match='two models with different ID scores'):
    trend.fit_baseline_trend(df)


def test_the_baseline_selection_can_be_a_query():
  df = _rows(['a', 'b', 'c', 'd'], ['scratch', 'scratch', 'finetune', 'finetune'],
             [0.2, 0.6, 0.3, 0.7], [0.1, 0.4, 0.3, 0.6])
  by_query = trend.fit_baseline_trend(df, baseline="kind == 'finetune'")
  direct = trend.fit_trend([0.3, 0.7], [0.3, 0.6])
  assert (by_query.slope, by_query.intercept) == pytest.approx((direct.slope, direct.intercept))


def test_a_bad_baseline_query_is_a_clear_error():
  df = _rows(['a', 'b'], ['scratch', 'scratch'], [0.3, 0.5], [0.2, 0.25])
  with pytest.raises(errors.AnalysisError, match='is not a pandas query.*backticks'):
    trend.fit_baseline_trend(df, baseline='finetune.epochs >= 10')


def test_an_unknown_transform_names_the_choices():
  with pytest.raises(ValueError, match=r"Unknown transform 'log'.*identity.*logit.*probit"):
    transforms.get_transform('log')
