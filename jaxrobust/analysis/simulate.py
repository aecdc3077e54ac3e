"""Synthetic studies with a known trend and known ER, to check the analysis and its intervals.

A model is a population confusion distribution: labels follow Zipf class priors,
a prediction is right with probability q and otherwise uniform over the other
classes; q is solved so that the population metric hits a target score. Test
sets are finite samples of it, so measured scores carry real test-set noise.

  python -m jaxrobust.analysis.simulate --reps=1000 --num_resamples=1000 --group_ers=0,0,2
prints how often the 95% intervals cover the truth and how often each verdict comes out.
"""
from collections.abc import Sequence
import dataclasses

from absl import app
from absl import flags
import numpy as np
import pandas as pd
from scipy import optimize

from jaxrobust.analysis import pipeline
from jaxrobust.analysis import bootstrap
from jaxrobust import metrics
from jaxrobust.analysis import groups as groups_lib
from jaxrobust.analysis import transforms
from jaxrobust.analysis import verdicts


def zipf_priors(num_classes: int, exponent: float = 1.0) -> np.ndarray:
  """Class priors proportional to 1 / rank**exponent."""
  weights = 1.0 / np.arange(1, num_classes + 1) ** exponent
  return weights / weights.sum()


def population_score(correct_rate: float, priors: np.ndarray, metric: str) -> float:
  """The metric of the population (infinite test set) for a correct rate q."""
  if metric == 'accuracy':
    return float(correct_rate)
  k = len(priors)
  true_positives = priors * correct_rate
  predicted = true_positives + (1 - correct_rate) * (1 - priors) / (k - 1)
  return float(np.mean(2 * true_positives / (priors + predicted)))


def correct_rate_for(score: float, priors: np.ndarray, metric: str) -> float:
  """The correct rate q whose population metric equals `score`."""
  return optimize.brentq(lambda q: population_score(q, priors, metric) - score, 0.0, 1.0,
                         xtol=1e-12)


def sample_predictions(rng: np.random.Generator, num_examples: int, priors: np.ndarray,
                       correct_rate: float) -> tuple[np.ndarray, np.ndarray]:
  """(labels, predictions) of a test set drawn from the population."""
  k = len(priors)
  labels = rng.choice(k, size=num_examples, p=priors)
  wrong = (labels + rng.integers(1, k, size=num_examples)) % k
  return labels, np.where(rng.random(num_examples) < correct_rate, labels, wrong)


@dataclasses.dataclass(frozen=True)
class StudySpec:
  """A synthetic study: the true trend, the baseline models and shifted groups."""
  slope: float = 1.1
  intercept: float = -0.6
  transform: str = 'logit'
  metric: str = 'macro_f1'
  num_baseline: int = 10
  # (pretrain.num_examples, number of models, true ER in points) of each group
  groups: tuple[tuple[int, int, float], ...] = ((25_000, 4, 0.0), (1_000_000, 4, 5.0))
  baseline_id_range: tuple[float, float] = (0.25, 0.75)
  group_id_range: tuple[float, float] = (0.45, 0.75)
  model_scatter: float = 0.05  # sd of each model's offset from its line, in T(ood) units
  num_examples: int = 2000
  num_classes: int = 20

  def trend_ood(self, id_scores) -> np.ndarray:
    """The true trend's OOD score at ID scores."""
    t = transforms.get_transform(self.transform)
    return t.inverse(self.slope * t(id_scores) + self.intercept)


@dataclasses.dataclass
class SyntheticStudy:
  results: pd.DataFrame  # flattened result.json rows
  truth: pd.DataFrame    # run_id, group setting, true id, ood and ER (points)
  predictions: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]

  def lookup(self, row: pd.Series, split: str):
    """Predictions of a row, in the form `analyze(predictions=...)` expects."""
    return self.predictions.get((row['run_id'], split))


def _true_points(spec: StudySpec, rng: np.random.Generator, id_range, shift: float,
                 size: int | None = None):
  """True (id, ood) of models drawn around the true line, `shift` points above it."""
  t = transforms.get_transform(spec.transform)
  true_id = t.inverse(rng.uniform(*t(np.array(id_range)), size=size))
  offset = rng.normal(0, spec.model_scatter, size=size)
  on_line = t.inverse(spec.slope * t(true_id) + spec.intercept + offset)
  return true_id, on_line + shift / 100


def synthetic_study(spec: StudySpec, seed: int) -> SyntheticStudy:
  """Draws the models of `spec`, their test sets and their measured scores."""
  rng = np.random.default_rng(seed)
  priors = zipf_priors(spec.num_classes)
  members = [('scratch', None, spec.baseline_id_range, 0.0)] * spec.num_baseline
  for num_examples, count, shift in spec.groups:
    members += [('finetune', num_examples, spec.group_id_range, shift)] * count
  rows, truth, predictions = [], [], {}
  for i, (kind, pretrain_examples, id_range, shift) in enumerate(members):
    run_id = f'{kind}_{i:03d}'
    true_id, true_ood = map(float, _true_points(spec, rng, id_range, shift))
    row = {'run_id': run_id, 'study': 'synthetic', 'kind': kind}
    if pretrain_examples is not None:
      row['pretrain.num_examples'] = pretrain_examples
    for name, split, score in (('id', 'id_test', true_id), ('ood', 'test', true_ood)):
      arrays = sample_predictions(rng, spec.num_examples, priors,
                                  correct_rate_for(score, priors, spec.metric))
      predictions[run_id, split] = arrays
      cells = metrics.confusion_cells(*arrays)
      measured = float(metrics.metric_from_counts(spec.metric, cells))
      row.update({f'metrics.{name}.split': split, f'metrics.{name}.{spec.metric}': measured,
                  f'metrics.{name}.num_examples': spec.num_examples})
    rows.append(row)
    truth.append({'run_id': run_id, 'pretrain.num_examples': pretrain_examples, 'id': true_id,
                  'ood': true_ood, 'er': float(100 * (true_ood - spec.trend_ood(true_id)))})
  return SyntheticStudy(pd.DataFrame(rows), pd.DataFrame(truth), predictions)


def group_true_er(spec: StudySpec, num_draws: int = 200_000, seed: int = 0) -> dict[int, float]:
  """Each group's expected ER over its population of runs (Monte Carlo)."""
  rng = np.random.default_rng(seed)
  out = {}
  for num_examples, _, shift in spec.groups:
    ids, oods = _true_points(spec, rng, spec.group_id_range, shift, size=num_draws)
    out[num_examples] = float(np.mean(100 * (oods - spec.trend_ood(ids))))
  return out


@dataclasses.dataclass(frozen=True)
class Coverage:
  """Simulated interval coverage and verdict rates (see `coverage`)."""
  intervals: pd.DataFrame  # interval, coverage, intervals_checked, mean_width_points
  verdicts: pd.DataFrame   # comparison, true_difference, checked, different, equivalent, ...


def _verdict_rows(result: pipeline.Analysis, shifts: dict[int, float]):
  """(comparison, true difference, verdict) of each group, group pair and line pair."""
  setting = dict(zip(result.groups['group'], result.groups['pretrain.num_examples']))
  for g in result.groups.itertuples():
    if g.group != groups_lib.SCRATCH_GROUP:
      yield 'group vs trend', shifts[int(setting[g.group])], g.verdict
  for name, df in (('group - group', result.differences),
                   ('line - line', result.line_differences)):
    for d in df.itertuples():
      yield name, shifts[int(setting[d.group_a])] - shifts[int(setting[d.group_b])], d.verdict


def coverage(spec: StudySpec, reps: int, num_resamples: int, seed: int = 0,
             level: float = 0.95, margin: float = verdicts.DEFAULT_MARGIN) -> Coverage:
  """How often the intervals of `analyze` contain the truth, and how often each verdict comes.

  Over `reps` synthetic studies. Verdict rates are per comparison (a group against the
  trend, two groups, two groups' lines) and true difference in points (the groups' shifts:
  every group's runs share one ID distribution, so the true difference of two group means,
  or of their lines at any ID, is the difference of their shifts).
  """
  group_truth = group_true_er(spec, seed=seed)
  shifts = {num_examples: shift for num_examples, _, shift in spec.groups}
  t = transforms.get_transform(spec.transform)
  grid = t.inverse(np.linspace(*t(np.array(spec.baseline_id_range)), 5))
  hits = {k: [] for k in ('id', 'ood', 'er (pre-trained)', 'er (baseline)', 'trend band',
                          'group mean er', 'group difference')}
  widths = {k: [] for k in hits}
  judged = []
  for rep in range(reps):
    study = synthetic_study(spec, seed=seed * 100_003 + rep)
    result = pipeline.analyze(study.results, spec.metric, spec.transform,
                              group_by=['pretrain.num_examples'] if spec.groups else [],
                              num_resamples=num_resamples, level=level, seed=rep,
                              predictions=study.lookup, equivalence_margin=margin)
    table = result.table.merge(study.truth, on='run_id', suffixes=('', '_true'))
    pretrained = ~table['baseline'].to_numpy()
    for name in ('id', 'ood', 'er'):
      inside = (table[f'{name}_low'] <= table[f'{name}_true']) & (
          table[f'{name}_true'] <= table[f'{name}_high'])
      width = table[f'{name}_high'] - table[f'{name}_low']
      if name == 'er':
        for key, mask in (('er (pre-trained)', pretrained), ('er (baseline)', ~pretrained)):
          hits[key] += list(inside[mask])
          widths[key] += list(width[mask])
      else:
        hits[name] += list(inside)
        widths[name] += list(width)
    low, high = bootstrap.trend_band(result.trend_samples, grid, level)
    truth = spec.trend_ood(grid)
    hits['trend band'] += list((low <= truth) & (truth <= high))
    widths['trend band'] += list(100 * (high - low))
    setting = dict(zip(result.groups['group'], result.groups['pretrain.num_examples']))
    for _, g in result.groups.iterrows():
      if g['group'] != groups_lib.SCRATCH_GROUP:
        true_er = group_truth[int(g['pretrain.num_examples'])]
        hits['group mean er'].append(g['er_low'] <= true_er <= g['er_high'])
        widths['group mean er'].append(g['er_high'] - g['er_low'])
    for d in result.differences.itertuples():
      true_difference = (group_truth[int(setting[d.group_a])]
                         - group_truth[int(setting[d.group_b])])
      hits['group difference'].append(d.low <= true_difference <= d.high)
      widths['group difference'].append(d.high - d.low)
    judged += list(_verdict_rows(result, shifts))
  intervals = pd.DataFrame({
      'interval': list(hits), 'coverage': [np.mean(hits[k]) if hits[k] else np.nan for k in hits],
      'intervals_checked': [len(hits[k]) for k in hits],
      'mean_width_points': [np.mean(widths[k]) * (100 if k in ('id', 'ood') else 1)
                            if widths[k] else np.nan for k in hits]})
  judged = pd.DataFrame(judged, columns=['comparison', 'true_difference', 'verdict'])
  judged['true_difference'] = judged['true_difference'].abs()
  rates = pd.crosstab([judged['comparison'], judged['true_difference']], judged['verdict'],
                      normalize='index').reindex(columns=list(verdicts.VERDICTS), fill_value=0.0)
  rates.insert(0, 'checked', judged.groupby(['comparison', 'true_difference']).size())
  return Coverage(intervals, rates.reset_index().rename_axis(columns=None))


def verdict_rate(rates: pd.DataFrame, comparison: str, true_difference: float,
                 verdict: str) -> float:
  """The rate of `verdict` for a comparison at a true difference (|points|), from coverage."""
  row = rates[(rates['comparison'] == comparison)
              & np.isclose(rates['true_difference'], abs(true_difference))]
  return float(row[verdict].iloc[0])


_REPS = flags.DEFINE_integer('reps', 200, 'Synthetic studies to simulate.')
_RESAMPLES = flags.DEFINE_integer('num_resamples', 1000, 'Bootstrap resamples per analysis.')
_METRIC = flags.DEFINE_enum('metric', 'macro_f1', ['macro_f1', 'accuracy'], 'Metric.')
_NUM_BASELINE = flags.DEFINE_integer('num_baseline', 10, 'Baseline (scratch) models per study.')
_GROUP_ERS = flags.DEFINE_list('group_ers', ['0', '5'],
                               'True ER (points) of each pre-training setting, one group each.')
_GROUP_MODELS = flags.DEFINE_integer('group_models', 4, 'Runs per pre-training setting.')
_MARGIN = flags.DEFINE_float('equivalence_margin', verdicts.DEFAULT_MARGIN,
                             'Equivalence margin of the verdicts, ER points.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed.')


def main(argv: Sequence[str]) -> None:
  del argv
  groups = tuple((1000 * (i + 1), _GROUP_MODELS.value, float(er))
                 for i, er in enumerate(_GROUP_ERS.value))
  spec = StudySpec(metric=_METRIC.value, num_baseline=_NUM_BASELINE.value, groups=groups)
  print(spec)
  result = coverage(spec, _REPS.value, _RESAMPLES.value, _SEED.value,
                    margin=_MARGIN.value)
  print(result.intervals.to_string(index=False), '', result.verdicts.to_string(index=False),
        sep='\n')


if __name__ == '__main__':
  app.run(main)
