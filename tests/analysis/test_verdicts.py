"""Verdicts on constructed differences: different, equivalent, inconclusive."""
import numpy as np
import pytest

from jaxrobust.analysis import errors
from jaxrobust.analysis import verdicts
from jaxrobust.study import recipes


def _replicates(centre: float, sd: float, num_resamples: int = 20_000) -> np.ndarray:
  return np.random.default_rng(0).normal(centre, sd, num_resamples)


def test_each_outcome_from_its_intervals():
  # 95% interval excludes 0 and the 90% one reaches past the margin: different
  assert verdicts.verdict(1.0, 9.0, 1.5, 8.5, margin=2.0) == 'different'
  # 90% interval inside -+margin (95% one includes 0): equivalent
  assert verdicts.verdict(-1.9, 1.9, -1.5, 1.5, margin=2.0) == 'equivalent'
  # resolved but smaller than the margin: equivalent
  assert verdicts.verdict(0.2, 1.8, 0.4, 1.6, margin=2.0) == 'equivalent'
  # neither
  assert verdicts.verdict(-4.0, 6.0, -3.0, 5.0, margin=2.0) == 'inconclusive'
  # the 90% interval touching the margin is not inside it
  assert verdicts.verdict(-2.5, 1.0, -2.0, 0.5, margin=2.0) == 'inconclusive'


def test_judge_reads_the_95_and_90_percent_intervals_of_the_replicates():
  replicates = _replicates(0.3, 0.9)
  judged = verdicts.judge(replicates, margin=2.0)
  np.testing.assert_allclose([judged.low, judged.high], np.percentile(replicates, [2.5, 97.5]))
  np.testing.assert_allclose([judged.equivalence_low, judged.equivalence_high],
                             np.percentile(replicates, [5, 95]))
  assert (judged.verdict, judged.margin) == ('equivalent', 2.0)  # 0.3 -+ 1.5 inside -+2
  assert verdicts.judge(_replicates(7.0, 1.0), 2.0).verdict == 'different'
  assert verdicts.judge(_replicates(0.5, 3.0), 2.0).verdict == 'inconclusive'


def test_a_smaller_margin_turns_equivalent_into_inconclusive():
  replicates = _replicates(0.3, 0.9)  # 90% interval about [-1.2, +1.8]
  assert verdicts.judge(replicates, margin=2.0).verdict == 'equivalent'
  assert verdicts.judge(replicates, margin=1.5).verdict == 'inconclusive'
  resolved_small = _replicates(1.0, 0.3)  # 95% interval about [+0.4, +1.6]
  assert verdicts.judge(resolved_small, margin=2.0).verdict == 'equivalent'
  assert verdicts.judge(resolved_small, margin=1.0).verdict == 'different'


def test_a_non_default_level_moves_both_intervals():
  replicates = _replicates(0.0, 1.0)
  judged = verdicts.judge(replicates, margin=2.0, level=0.8)
  np.testing.assert_allclose([judged.low, judged.high], np.percentile(replicates, [10, 90]))
  np.testing.assert_allclose([judged.equivalence_low, judged.equivalence_high],
                             np.percentile(replicates, [20, 80]))


@pytest.mark.parametrize('margin', [0.0, -1.0, float('nan'), float('inf')])
def test_a_margin_that_is_not_a_positive_number_is_a_clear_error(margin):
  with pytest.raises(errors.AnalysisError, match='equivalence margin must be a positive'):
    verdicts.check_margin(margin)


def test_studies_declare_the_analysis_default_margin_unless_they_choose_theirs():
  config = recipes.study_defaults('any', 'local,test', 'a study')
  assert config.analysis.equivalence_margin == verdicts.DEFAULT_MARGIN
