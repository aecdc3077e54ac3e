"""The baseline trend fit and effective robustness against it."""
import numpy as np
import pandas as pd
import pytest
from scipy import special
from scipy import stats

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


# The transforms written out independently of transforms.py, for reference fits.
_REFERENCE = {'logit': lambda p: np.log(p / (1 - p)), 'probit': stats.norm.ppf,
              'identity': lambda p: p}


@pytest.mark.parametrize('transform', ['logit', 'probit', 'identity'])
def test_fit_is_ordinary_least_squares_on_noisy_scattered_points(transform):
  # Correlation about 0.6: a reduced-major-axis slope (sd ratio) would be 1/0.6 times larger.
  rng = np.random.default_rng(1)
  id_scores = rng.uniform(0.2, 0.8, 25)
  ood_scores = np.clip(0.8 * id_scores - 0.1 + rng.normal(0, 0.1, 25), 0.02, 0.98)
  t = _REFERENCE[transform]
  reference = stats.linregress(t(id_scores), t(ood_scores))
  assert abs(reference.rvalue) < 0.9
  fitted = trend.fit_trend(id_scores, ood_scores, transform)
  np.testing.assert_allclose([fitted.slope, fitted.intercept],
                             np.polyfit(t(id_scores), t(ood_scores), 1), rtol=1e-10)
  np.testing.assert_allclose([fitted.slope, fitted.intercept],
                             [reference.slope, reference.intercept], rtol=1e-10)


def test_batched_lines_match_polyfit_row_by_row():
  # Rows as the bootstrap has them (one x, redrawn y), then rows with their own x.
  rng = np.random.default_rng(2)
  x = np.concatenate([np.broadcast_to(rng.normal(0, 1, 8), (4, 8)), rng.normal(3, 2, (4, 8))])
  y = 0.7 * x + rng.normal(0, 1, x.shape) + rng.normal(0, 5, (8, 1))
  slopes, intercepts = trend.least_squares_lines(x, y)
  for row in range(len(x)):
    np.testing.assert_allclose([slopes[row], intercepts[row]], np.polyfit(x[row], y[row], 1),
                               rtol=1e-10, err_msg=f'row {row}')


def test_batched_lines_are_nan_where_x_is_constant():
  slopes, intercepts = trend.least_squares_lines(np.array([[1.0, 1, 1], [0, 1, 2]]),
                                                 np.array([[1.0, 2, 3], [1, 2, 3]]))
  assert np.isnan(slopes[0]) and np.isnan(intercepts[0])
  assert (slopes[1], intercepts[1]) == pytest.approx((1.0, 1.0))


def test_a_groups_er_is_ood_above_the_least_squares_line_and_its_interval_holds_the_shift():
  df = _study_around_line('logit', 1.1, -0.6, shift_points=5.0, noise=0.05)
  result = pipeline.analyze(df, group_by=['pretrain.num_examples'],
                            predictions=lambda row, split: None)
  base, models = df[df['kind'] == 'scratch'], df[df['kind'] == 'finetune']
  logit = _REFERENCE['logit']
  slope, intercept = np.polyfit(logit(base['metrics.id.macro_f1']),
                                logit(base['metrics.ood.macro_f1']), 1)
  expected = special.expit(slope * logit(models['metrics.id.macro_f1']) + intercept)
  group = result.groups.set_index('group').loc['100,000 images']
  assert group['er'] == pytest.approx(np.mean(100 * (models['metrics.ood.macro_f1'] - expected)),
                                      rel=1e-10)
  assert group['er_low'] < 5.0 < group['er_high']  # the true shift


def test_er_is_ood_minus_the_trends_expectation_in_points():
  df = _rows(['a', 'b', 'c'], ['scratch', 'scratch', 'finetune'], [0.2, 0.6, 0.5],
             [0.1, 0.4, 0.45])
  fitted = trend.fit_baseline_trend(df)
  er = trend.effective_robustness(df, fitted).set_index('run_id')
  expected = fitted.expected_ood(0.5)
  assert er.loc['c', 'expected_ood'] == pytest.approx(expected)
  assert er.loc['c', 'er'] == pytest.approx(100 * (0.45 - expected))


def test_scores_of_exactly_zero_and_one_are_clipped_to_1e_4():
  # Hand-computed: logit(1e-4) = log(1e-4 / (1 - 1e-4)) = -9.21024..., probit(1e-4) = -3.71902.
  clipped = {'logit': [np.log(1e-4 / (1 - 1e-4)), np.log((1 - 1e-4) / 1e-4)],
             'probit': [-3.7190164854556804, 3.7190164854556804],
             'identity': [1e-4, 1 - 1e-4]}
  for name, expected in clipped.items():
    np.testing.assert_allclose(transforms.get_transform(name)(np.array([0.0, 1.0])), expected,
                               rtol=1e-12, err_msg=name)


def test_er_of_a_perfect_id_score_uses_the_clipped_score():
  df = _rows(['a', 'b', 'c', 'd'], ['scratch', 'scratch', 'scratch', 'finetune'],
             [0.0, 0.5, 1.0, 1.0], [0.0, 0.3, 1.0, 0.9])
  fitted = trend.fit_baseline_trend(df)
  assert np.isfinite([fitted.slope, fitted.intercept]).all()
  er = trend.effective_robustness(df, fitted).set_index('run_id')
  x = np.log((1 - 1e-4) / 1e-4)  # logit of the ID score 1, clipped
  expected = 1 / (1 + np.exp(-(fitted.slope * x + fitted.intercept)))
  assert er.loc['d', 'er'] == pytest.approx(100 * (0.9 - expected), rel=1e-10)


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
