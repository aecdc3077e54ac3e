"""Power planning: the models per group that resolve, or bound, a difference of one margin.

A group of n runs' mean ER varies between studies with sd se = sqrt(s^2 / n + tau^2) against
the trend, and two groups' difference with sqrt(2 s^2 / n) (they share the trend
resamples, so tau cancels): s is the sd of one model's ER between runs of one setting
(pooled within groups of a pilot study; it holds their test-set noise) and tau the sd of the
trend's expected OOD at the groups' ID scores. The intervals the verdicts read are the
two-stage bootstrap's, whose sd is se_b = sqrt(s^2 (n - 1) / n^2 + v (2n - 1) / n^2 + tau^2)
(2 (...) for a pair, without tau): resampling n runs sees (n - 1) / n of their variance, and
each drawn run adds its own test-set replicate (variance v) again, the same one as often as
the run is drawn (n draws with replacement repeat runs: E[sum of squared counts] = 2n - 1).
With normal quantiles z (the percentile intervals are about normal ones), level L and a true
difference D:
- resolve: P(different | D = margin) = Phi((margin - z_{(1+L)/2} se_b) / se);
- equivalence: P(equivalent | D = 0) = 2 Phi((margin - z_L se_b) / se) - 1;
and a plan is the least n (from MIN_GROUP_MODELS, below which a group's interval
understates the spread) where that reaches `power`. `plan_power` takes the figures directly
(e.g. for a study's dry run, from a pilot study or shipped figures); `plan_from_analysis`
measures them on a study's results.
"""
import dataclasses
import math

import numpy as np
from scipy import stats

from jaxrobust.analysis import errors
from jaxrobust.analysis import groups as groups_lib
from jaxrobust.analysis import pipeline
from jaxrobust.analysis import verdicts

POWER = 0.8
MAX_MODELS = 10_000  # plans beyond this are reported as unreachable


@dataclasses.dataclass(frozen=True)
class PowerPlan:
  """Models per group for each aim (None: no group size reaches it, the trend too uncertain)."""
  margin: float
  spread_sd: float  # s: sd of one model's ER between runs of one setting, points
  trend_sd: float   # tau: sd of the trend's expected OOD at the groups' ID, points
  test_sd: float    # sqrt(v): sd of one model's ER over its test-set resamples, points
  models_to_resolve: int | None       # two groups margin apart come out `different`
  models_for_equivalence: int | None  # two groups that do not differ come out `equivalent`
  models_to_resolve_vs_trend: int | None       # a group margin off the trend: `different`
  models_for_equivalence_vs_trend: int | None  # a group on the trend: `equivalent`
  power: float = POWER
  level: float = 0.95
  # What a group counts: fine-tuned models (1), or pre-trained models each fine-tuned this
  # many times (the plan's spread and test sd are then those of one pre-trained model's mean).
  fine_tunes_per_model: int = 1


@dataclasses.dataclass(frozen=True)
class Spread:
  """What a pilot measured, in ER points (see measured_spread)."""
  spread_sd: float   # s: sd of one unit's ER between units of one setting
  trend_sd: float    # tau
  test_sd: float     # sqrt(v) of one unit
  dof: int           # degrees of freedom of s
  fine_tunes_per_model: int  # runs per unit: 1, or each pre-trained model's fine-tunes
  # Its parts, where units are pre-trained models: the sd of one fine-tune's ER around its
  # pre-trained model's mean (pooled), and of that mean between pre-training runs beyond
  # what its fine-tunes add (None where each group has one pre-trained model).
  fine_tune_sd: float
  pretraining_sd: float | None


def _standard_errors(n, spread_sd: float, trend_sd: float, test_sd: float, pair: bool):
  """(se, se_b) of a group mean (pair=False) or of two groups' difference, n runs per group."""
  n = np.asarray(n, np.float64)
  k, tau2 = (2.0, 0.0) if pair else (1.0, trend_sd ** 2)
  se = np.sqrt(k * spread_sd ** 2 / n + tau2)
  se_b = np.sqrt(k * (spread_sd ** 2 * (n - 1) + test_sd ** 2 * (2 * n - 1)) / n ** 2 + tau2)
  return se, se_b


def verdict_probability(aim: str, n, spread_sd: float, margin: float, trend_sd: float = 0.0,
                        test_sd: float = 0.0, pair: bool = True, level: float = 0.95):
  """P(`different` at a true difference of margin) for aim 'resolve', P(`equivalent` at 0)
  for aim 'equivalence', with n models per group (array-like), as the module docstring says."""
  se, se_b = _standard_errors(n, spread_sd, trend_sd, test_sd, pair)
  z = stats.norm.ppf
  if aim == 'resolve':
    return stats.norm.cdf((margin - z((1 + level) / 2) * se_b) / se)
  return np.clip(2 * stats.norm.cdf((margin - z(level) * se_b) / se) - 1, 0, 1)


def _least_models(aim: str, power: float, **figures) -> int | None:
  n = np.arange(groups_lib.MIN_GROUP_MODELS, MAX_MODELS + 1)
  reached = np.flatnonzero(verdict_probability(aim, n, **figures) >= power)
  return int(n[reached[0]]) if reached.size else None


def plan_power(spread_sd: float, margin: float, trend_sd: float = 0.0, test_sd: float = 0.0,
               level: float = 0.95, power: float = POWER,
               fine_tunes_per_model: int = 1) -> PowerPlan:
  """Models per group for each aim, from the spread between runs, the trend's sd and test sd.

  The spread is taken as at least the test sd (the spread between runs includes it).
  """
  margin = verdicts.check_margin(margin)
  figures = (spread_sd, trend_sd, test_sd)
  if not all(np.isfinite(f) and f >= 0 for f in figures):
    raise errors.AnalysisError(
        f'The spread between runs, the trend sd and the test sd must be non-negative numbers '
        f'of ER points, got {figures}.')
  # Runs of one setting differ at least by their test-set noise; a small pilot can measure
  # less spread than that by chance, so the plan never assumes less.
  spread_sd = max(spread_sd, test_sd)
  common = dict(spread_sd=spread_sd, margin=margin, trend_sd=trend_sd, test_sd=test_sd,
                level=level)
  plans = [_least_models(aim, power, pair=pair, **common)
           for pair in (True, False) for aim in ('resolve', 'equivalence')]
  return PowerPlan(margin, float(spread_sd), float(trend_sd), float(test_sd), *plans, power,
                   level, fine_tunes_per_model)


def detectable(n: int, spread_sd: float, test_sd: float = 0.0, level: float = 0.95,
               power: float = POWER) -> tuple[float, float]:
  """(difference, margin) for two groups of n runs each, `power` of the time.

  `difference`: the least true difference between them that comes out `different`;
  `margin`: the least margin within which two groups without a difference come out
  `equivalent`. The inverses of verdict_probability for pairs (the spread never below test_sd).
  """
  se, se_b = _standard_errors(n, max(spread_sd, test_sd), 0.0, test_sd, pair=True)
  z = stats.norm.ppf
  return (float(z((1 + level) / 2) * se_b + z(power) * se),
          float(z(level) * se_b + z((1 + power) / 2) * se))


def measured_spread(analysis: pipeline.Analysis) -> Spread:
  """s, tau, sqrt(v) and the degrees of freedom of s, as the module docstring says.

  The unit is a fine-tuned model; where groups hold several pre-trained models (a study
  with `pretrain_seeds` > 1), it is a pre-trained model with its fine-tunes (their mean ER),
  so s holds the chance of pre-training too. s pools the variance within each pre-trained
  group of 2 or more units; tau is the trend resamples' sd at the least favourable group's
  mean ID score; v is the units' mean test-set variance of ER.
  """
  table = analysis.table[~analysis.table['baseline']]
  table = table[table['group'] != groups_lib.SCRATCH_GROUP]
  ids = table.groupby('group')['id'].mean().to_numpy()
  test_var = table['er_test_sd'] ** 2
  fine_tunes, fine_tune_sd = 1, None
  if groups_lib.PRETRAINED_MODEL in table:
    per_model = table.assign(test_var=test_var).groupby(
        ['group', groups_lib.PRETRAINED_MODEL], sort=False)
    units = per_model.agg(er=('er', 'mean'), runs=('er', 'size'), test_var=('test_var', 'mean'))
    if (units.groupby(level='group').size() > 1).any() and (units['runs'] > 1).any():
      fine_tunes = int(round(units['runs'].median()))
      fine_tune_sd, _ = _pooled_sd(per_model['er'])
      table = units.reset_index()
      test_var = units['test_var'].to_numpy() / units['runs'].to_numpy()
  spread, dof = _pooled_sd(table.groupby('group')['er'])
  if dof == 0:
    raise errors.AnalysisError(
        'Power planning needs the spread between runs of one setting: give it results with '
        'at least one pre-training setting of 2 or more fine-tuned models.')
  trend_sd = float(np.max(np.std(100 * analysis.trend_samples.expected_ood(ids), axis=0)))
  test_sd = math.sqrt(float(np.mean(test_var)))
  if fine_tune_sd is None:
    return Spread(spread, trend_sd, test_sd, dof, 1, spread, None)
  pretraining_sd = math.sqrt(max(0.0, spread ** 2 - fine_tune_sd ** 2 / fine_tunes))
  return Spread(spread, trend_sd, test_sd, dof, fine_tunes, fine_tune_sd, pretraining_sd)


def _pooled_sd(grouped) -> tuple[float, int]:
  """(sd pooled within the groups of a grouped Series, its degrees of freedom); nan at 0."""
  sizes = grouped.size()
  dof = int((sizes - 1).clip(lower=0).sum())
  if dof == 0:
    return math.nan, 0
  return math.sqrt(float(grouped.var(ddof=1).fillna(0).mul(sizes - 1).sum()) / dof), dof


def plan_from_analysis(analysis: pipeline.Analysis, margin: float,
                       power: float = POWER) -> PowerPlan:
  """plan_power with the spread and trend sd measured on `analysis` (at its level)."""
  return plan_from_spread(measured_spread(analysis), margin, analysis.level, power)


def plan_from_spread(m: Spread, margin: float, level: float = 0.95,
                     power: float = POWER) -> PowerPlan:
  """plan_power with the figures of `m`."""
  return plan_power(m.spread_sd, margin, m.trend_sd, m.test_sd, level, power,
                    m.fine_tunes_per_model)


def describe(plan: PowerPlan, measured_sd: float | None = None,
             dof: int | None = None) -> list[str]:
  """The plan in sentences, one per figure; `measured_sd` and `dof`: the pilot's spread."""
  each = plan.fine_tunes_per_model
  unit = 'models' if each == 1 else f'pre-trained models (each fine-tuned {each} times)'
  def count(n):
    return f'{n} {unit} per group' if n is not None else (
        f'more than {MAX_MODELS} {unit} per group (where the trend is too uncertain, train '
        f'more scratch runs; else widen the margin)')
  measured = '' if measured_sd is None else (
      f'measured sd {measured_sd:.2f} points (pooled, {dof} degrees of freedom); ')
  m, p = f'{plan.margin:g}', f'{plan.power:.0%}'
  one = 'one run\'s ER between runs' if each == 1 else (
      f'one pre-trained model\'s mean ER over its {each} fine-tunes between pre-training runs')
  return [
      f'Spread of {one} of one setting: {measured}planned with '
      f'{plan.spread_sd:.2f} (never below its test-set sd, {plan.test_sd:.2f}). '
      f'Baseline trend at the groups\' ID scores: sd {plan.trend_sd:.2f} points.',
      f'Resolve a true difference of {m} points between two groups ({p} of the time): '
      f'{count(plan.models_to_resolve)}.',
      f'Show two groups that do not differ equivalent within ±{m} points ({p}): '
      f'{count(plan.models_for_equivalence)}.',
      f'Resolve a group {m} points off the baseline trend ({p}): '
      f'{count(plan.models_to_resolve_vs_trend)}.',
      f'Show a group on the baseline trend equivalent to it within ±{m} points ({p}): '
      f'{count(plan.models_for_equivalence_vs_trend)}.',
  ]
