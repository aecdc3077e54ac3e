"""Power planning: its numbers, its command line, and simulation agreeing with it."""
import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

from jaxrobust.analysis import errors
from jaxrobust.analysis import groups as groups_lib
from jaxrobust.analysis import load
from jaxrobust.analysis import pipeline
from jaxrobust.analysis import power
from jaxrobust.analysis import simulate

MARGIN = 6.0
# Runs of one setting spread by about 3 ER points (model scatter and 1000 test examples).
FIGURES = dict(num_baseline=8, num_examples=1000, num_classes=5)


@pytest.fixture(scope='module')
def pilot() -> pipeline.Analysis:
  """A pilot study: two settings of 30 runs each, to measure the spread between runs."""
  spec = simulate.StudySpec(groups=((1000, 30, 0.0), (2000, 30, 0.0)), **FIGURES)
  study = simulate.synthetic_study(spec, seed=0)
  return pipeline.analyze(study.results, group_by=['pretrain.num_examples'],
                          num_resamples=300, predictions=study.lookup)


def test_smaller_margins_need_more_models():
  plans = [power.plan_power(spread_sd=2.0, margin=m, trend_sd=0.5, test_sd=1.5)
           for m in (8.0, 4.0, 2.0)]
  for field in ('models_to_resolve', 'models_for_equivalence', 'models_to_resolve_vs_trend',
                'models_for_equivalence_vs_trend'):
    counts = [getattr(plan, field) for plan in plans]
    assert counts[0] < counts[1] < counts[2], (field, counts)
  # no group size bounds a group against a trend whose own sd is near the margin
  loose = power.plan_power(spread_sd=2.0, margin=2.0, trend_sd=1.0)
  assert loose.models_to_resolve_vs_trend is None
  assert loose.models_for_equivalence_vs_trend is None
  assert loose.models_to_resolve is not None


def test_the_plan_starts_at_three_models_per_group():
  plan = power.plan_power(spread_sd=0.1, margin=5.0)
  assert plan.models_to_resolve == plan.models_for_equivalence == 3


@pytest.mark.parametrize('aim,verdict', [('resolve', 'different'),
                                         ('equivalence', 'equivalent')])
@pytest.mark.slow
def test_simulation_agrees_with_the_planned_group_size(pilot, aim, verdict):
  plan = power.plan_from_analysis(pilot, MARGIN)
  planned = plan.models_to_resolve if aim == 'resolve' else plan.models_for_equivalence
  shift = MARGIN if aim == 'resolve' else 0.0
  rates = {}
  for n in (planned, planned // 2):
    spec = simulate.StudySpec(groups=((1000, n, 0.0), (2000, n, shift)), **FIGURES)
    result = simulate.coverage(spec, reps=40, num_resamples=200, seed=1, margin=MARGIN)
    rates[n] = simulate.verdict_rate(result.verdicts, 'group - group', shift, verdict)
  print(plan, rates)
  assert 5 <= planned <= 12  # a plan worth checking: neither the floor nor out of reach
  assert 0.65 <= rates[planned] <= 0.95  # the plan's 80%
  assert rates[planned // 2] <= rates[planned] - 0.15


def test_cli_prints_the_plan_and_ends_with_its_json(study_dir):
  plans = {}
  for margin in (2.0, 5.0):
    done = subprocess.run(
        [sys.executable, '-m', 'jaxrobust.analysis', 'power', str(study_dir),
         f'--equivalence_margin={margin}', '--json', '--num_resamples=200'],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    plans[margin] = json.loads(lines[-1])
    assert lines[0].startswith("Spread of one run's ER between runs of one setting: measured sd ")
  assert plans[2.0]['margin'] == 2.0
  assert plans[2.0]['models_to_resolve'] > plans[5.0]['models_to_resolve']
  assert plans[2.0]['models_for_equivalence'] > plans[5.0]['models_for_equivalence']
  analysis = pipeline.analyze(load.load_results(str(study_dir)), num_resamples=200)
  expected = power.plan_from_analysis(analysis, 5.0)
  assert plans[5.0]['models_to_resolve'] == expected.models_to_resolve
  assert plans[5.0]['models_for_equivalence'] == expected.models_for_equivalence


def test_planning_without_repeated_runs_of_a_setting_is_a_clear_error(study_dir):
  for run in ('ft_25000_1', 'ft_25000_2', 'ft_1000000_1', 'ft_1000000_2'):
    (study_dir / 'runs' / run / 'result.json').unlink()
  analysis = pipeline.analyze(load.load_results(str(study_dir)), num_resamples=50)
  with pytest.raises(errors.AnalysisError, match='2 or more fine-tuned models'):
    power.plan_from_analysis(analysis, 2.0)


@pytest.mark.parametrize('n', [3, 8, 20])
def test_detectable_difference_and_margin_are_where_the_plan_reaches_its_power(n):
  difference, margin = power.detectable(n, spread_sd=3.0, test_sd=1.0)
  assert power.verdict_probability('resolve', n, 3.0, difference, test_sd=1.0) == (
      pytest.approx(power.POWER))
  assert power.verdict_probability('equivalence', n, 3.0, margin, test_sd=1.0) == (
      pytest.approx(power.POWER))
  assert power.detectable(2 * n, 3.0, 1.0) < (difference, margin)  # more models, less


def test_with_several_pretrained_models_per_group_the_unit_is_a_pretrained_model(pilot):
  # The pilot's 30 runs per group become 10 pre-trained models x 3 fine-tunes, each model
  # shifting its fine-tunes' ER by its own amount (sd 3 points).
  table = pilot.table.copy()
  pretrained = ~table['baseline']
  runs = table.loc[pretrained]
  model = runs.groupby('group').cumcount() // 3
  shift = np.where(model % 2 == 0, 3.0, -3.0)
  table.loc[pretrained, 'er'] = runs['er'] + shift
  table.loc[pretrained, groups_lib.PRETRAINED_MODEL] = runs['group'] + '/' + model.astype(str)
  measured = power.measured_spread(dataclasses.replace(pilot, table=table))
  flat = power.measured_spread(pilot)
  assert flat.fine_tunes_per_model == 1 and flat.pretraining_sd is None
  assert measured.fine_tunes_per_model == 3
  assert measured.dof == 2 * (10 - 1)
  assert measured.fine_tune_sd == pytest.approx(flat.spread_sd, rel=0.3)
  assert 2.0 < measured.pretraining_sd < 4.5
  assert measured.test_sd == pytest.approx(flat.test_sd / np.sqrt(3), rel=0.1)
  plan = power.plan_from_analysis(dataclasses.replace(pilot, table=table), MARGIN)
  assert plan.fine_tunes_per_model == 3
  assert 'pre-trained models (each fine-tuned 3 times) per group' in power.describe(plan)[1]
