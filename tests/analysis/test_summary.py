"""Group labels, the findings in words and the console group table."""
import dataclasses

import numpy as np
import pandas as pd
import pytest

from jaxrobust.analysis import bootstrap
from jaxrobust.analysis import groups as groups_lib
from jaxrobust.analysis import load
from jaxrobust.analysis import pipeline
from jaxrobust.analysis import summary
from jaxrobust.analysis import verdicts


@pytest.fixture
def analysis(study_dir) -> pipeline.Analysis:
  return pipeline.analyze(load.load_results(str(study_dir)), num_resamples=50)


def _judged(low, high, margin=2.0):
  """Verdict columns of a 95% interval, its 90% interval taken as the normal one."""
  middle, half = (low + high) / 2, (high - low) / 2 * 1.645 / 1.96
  return [middle - half, middle + half,
          verdicts.verdict(low, high, middle - half, middle + half, margin), margin]


def _with_groups(analysis, rows, differences=None, group_by=('pretrain.num_examples',)):
  """`analysis` with a hand-made group table and differences (its trend kept, no lines).

  Without `differences`, each pair gets its ER difference -+ 1 point.
  """
  judged = ['equivalence_low', 'equivalence_high', 'verdict', 'margin']
  groups = pd.DataFrame([row + _judged(*row[-2:]) for row in rows], columns=[
      'group', *group_by, 'n_models', 'er', 'er_low', 'er_high', *judged])
  groups.insert(groups.columns.get_loc('n_models') + 1, 'n_pretrained', groups['n_models'])
  if differences is None:
    er = dict(zip(groups['group'], groups['er']))
    differences = [[a, b, er[a] - er[b], er[a] - er[b] - 1, er[a] - er[b] + 1]
                   for i, a in enumerate(er) for b in list(er)[i + 1:] if 'scratch' not in (a, b)]
  differences = pd.DataFrame([row + _judged(*row[-2:]) for row in differences], columns=[
      'group_a', 'group_b', 'er_difference', 'low', 'high', *judged])
  return dataclasses.replace(
      analysis, groups=groups, group_by=list(group_by), differences=differences,
      line_differences=analysis.line_differences.iloc[:0])


def test_an_interval_bound_next_to_zero_keeps_its_side_of_it():
  assert summary.with_interval(0.05, 0.0004, 0.096, 100, signed=True) == '+5.0 [+0.04, +9.6]'
  assert summary.with_interval(0.05, -0.0004, 0.096, 100, signed=True) == '+5.0 [-0.04, +9.6]'
  assert summary.with_interval(0.5, 0.0, 0.7, 100) == '50.0 [0.0, 70.0]'
  assert summary.with_interval(0.05, 0.012, 0.096, 100, signed=True) == '+5.0 [+1.2, +9.6]'


def test_labels_are_settings_in_words():
  df = pd.DataFrame({'kind': ['scratch', 'finetune', 'finetune', 'finetune'],
                     'pretrain.num_examples': [np.nan, 2000.0, 25_000.0, 2000.0],
                     'pretrain.num_classes': [np.nan, 5.0, 1.0, np.nan],
                     'pretrain.label_level': [np.nan, 'level1', 'label', 'label']})
  labels = groups_lib.group_labels(df, list(df.columns[1:]))
  assert labels.tolist() == [
      'scratch', '2,000 images, 5 classes, label level: level1',
      '25,000 images, 1 class, label level: label',
      '2,000 images, num classes: n/a, label level: label']
  assert groups_lib.column_title('pretrain.num_examples') == 'pre-training images'
  assert groups_lib.column_title('pretrain.diversity_ratio') == 'pre-training diversity ratio'


def test_a_placebo_pair_is_labelled_by_its_part_and_whole_data_sets_name_none():
  df = pd.DataFrame({'kind': ['finetune'] * 3, 'pretrain.num_examples': [800, 800, 6000],
                     'pretrain.part': ['1/2', '2/2', None]})
  assert groups_lib.group_labels(df, list(df.columns[1:])).tolist() == [
      '800 images, placebo part: 1/2', '800 images, placebo part: 2/2', '6,000 images']
  assert groups_lib.column_title('pretrain.part') == 'pre-training placebo part'


def test_findings_give_each_group_its_verdict_against_the_trend(analysis):
  analysis = _with_groups(analysis, [
      ['scratch', np.nan, 6, 0.1, -3.0, 3.0],
      ['2,000 images', 2000, 3, 4.1, 1.2, 7.0],
      ['500 images', 500, 4, -0.5, -2.8, 1.5],
      ['100 images', 100, 3, -3.0, -5.0, -0.5],
      ['50 images', 50, 3, 1.0, 0.2, 1.8]])
  lines = summary.findings(analysis)
  assert ('Pre-training on 2,000 images (3 models): +4.1 [+1.2, +7.0] OOD macro-F1 points above '
          'the baseline trend; different (the 95% interval excludes 0).') in lines
  assert ('Pre-training on 500 images (4 models): -0.5 [-2.8, +1.5] OOD macro-F1 points relative '
          'to the baseline trend; inconclusive (the 95% interval includes 0 and the 90% '
          'interval [-2.5, +1.2] reaches beyond ±2).') in lines
  assert ('Pre-training on 100 images (3 models): -3.0 [-5.0, -0.5] OOD macro-F1 points below '
          'the baseline trend; different (the 95% interval excludes 0).') in lines
  assert ('Pre-training on 50 images (3 models): +1.0 [+0.2, +1.8] OOD macro-F1 points above '
          'the baseline trend; equivalent: resolved but smaller than the margin of 2 points '
          '(the 95% interval excludes 0, the 90% interval [+0.3, +1.7] lies within ±2).'
          ) in lines
  assert not any('scratch (' in line for line in lines)
  assert not any('Fewer than' in line for line in lines)


def test_findings_count_the_pretraining_runs_behind_each_group(analysis):
  analysis = _with_groups(analysis, [
      ['scratch', np.nan, 6, 0.1, -3.0, 3.0],
      ['2,000 images', 2000, 8, 4.1, 1.2, 7.0],
      ['500 images', 500, 4, -0.5, -2.8, 1.5]])
  analysis.groups['n_pretrained'] = [6, 4, 1]
  lines = summary.findings(analysis)
  assert any(line.startswith('Pre-training on 2,000 images (8 models from 4 pre-training runs): '
                             '+4.1') for line in lines)
  assert any(line.startswith('Pre-training on 500 images (4 models): -0.5') for line in lines)
  once = [line for line in lines if line.startswith('One pre-training run in:')]
  assert once == [once[0]] and once[0].startswith('One pre-training run in: 500 images. ')
  analysis.groups['n_pretrained'] = [6, 4, 2]
  assert not any('One pre-training run' in line for line in summary.findings(analysis))


def test_findings_compare_the_largest_with_the_smallest_quantity_in_either_stored_order(
    analysis):
  rows = [['500 images', 500, 3, 1.0, -1.0, 3.0], ['2,000 images', 2000, 3, 4.0, 1.0, 7.0],
          ['1,000 images', 1000, 3, 2.0, 0.0, 4.0]]
  stored = [['500 images', '2,000 images', -3.0, -5.5, -0.5],
            ['500 images', '1,000 images', -1.0, -3.0, 1.0],
            ['2,000 images', '1,000 images', 2.0, -1.0, 5.0]]
  lines = summary.findings(_with_groups(analysis, rows, stored))
  assert [line for line in lines if 'minus' in line] == [
      'Pre-training images, largest minus smallest (2,000 images minus 500 images): '
      '+3.0 [+0.5, +5.5] ER points (macro-F1); different (the 95% interval excludes 0).']


def test_placebo_parts_at_the_largest_quantity_are_each_compared_with_the_smallest(analysis):
  by = ('pretrain.num_examples', 'pretrain.part')
  rows = [['100 images', 100, None, 6, -5.0, -9.0, -1.0],
          ['6,000 images, placebo part: 1/2', 6000, '1/2', 12, 18.0, 12.0, 24.0],
          ['6,000 images, placebo part: 2/2', 6000, '2/2', 12, 18.3, 12.5, 24.5]]
  lines = [line for line in summary.findings(_with_groups(analysis, rows, group_by=by))
           if 'minus' in line]
  assert [line.split(':', 1)[0] for line in lines] == [
      'Pre-training images, largest minus smallest (6,000 images, placebo part',
      'Pre-training images, largest minus smallest (6,000 images, placebo part',
      'Pre-training placebo part (6,000 images, placebo part']
  assert lines[0].startswith('Pre-training images, largest minus smallest (6,000 images, '
                             'placebo part: 1/2 minus 100 images): +23.0 [+22.0, +24.0]')
  assert lines[1].startswith('Pre-training images, largest minus smallest (6,000 images, '
                             'placebo part: 2/2 minus 100 images): +23.3')
  assert lines[2].startswith('Pre-training placebo part (6,000 images, placebo part: 1/2 minus '
                             '6,000 images, placebo part: 2/2): -0.3')


def test_findings_compare_groups_that_differ_in_one_setting_only(analysis):
  by = ('pretrain.num_examples', 'pretrain.label_level')
  rows = [['a', 500, 'fine', 3, 1.0, -1.0, 3.0], ['b', 2000, 'fine', 3, 4.0, 1.0, 7.0],
          ['c', 2000, 'coarse', 3, 3.0, 0.5, 5.0]]
  stored = [['a', 'b', -3.0, -5.0, -1.0], ['a', 'c', -2.0, -4.0, 0.5],
            ['b', 'c', 1.0, -1.0, 3.0]]
  lines = summary.findings(_with_groups(analysis, rows, stored, by))
  assert [line for line in lines if 'minus' in line] == [
      'Pre-training images, largest minus smallest (b minus a): +3.0 [+1.0, +5.0] ER points '
      '(macro-F1); different (the 95% interval excludes 0).',
      'Pre-training label level (b minus c): +1.0 [-1.0, +3.0] ER points (macro-F1); '
      'inconclusive (the 95% interval includes 0 and the 90% interval [-0.7, +2.7] reaches '
      'beyond ±2).']


def test_findings_warn_of_groups_with_fewer_than_three_models(analysis):
  analysis = _with_groups(analysis, [['2,000 images', 2000, 2, 4.0, 1.0, 7.0],
                                     ['500 images', 500, 1, 1.0, 0.5, 1.5],
                                     ['100 images', 100, 3, 1.0, 0.5, 1.5]])
  assert summary.findings(analysis)[-1] == (
      'Fewer than 3 models in: 2,000 images (2 models), 500 images (1 model). Their intervals '
      'understate the spread between runs and they get no line of their own; run more '
      'fine-tuning seeds.')


def test_findings_state_the_trend_and_warn_when_its_slope_is_undetermined(analysis):
  lines = summary.findings(analysis)
  (a_low, a_high), _ = analysis.trend_samples.intervals(analysis.level)
  assert lines[0].startswith(f'Baseline trend (6 models, kind == \'scratch\'): logit(OOD) = '
                             f'a * logit(ID) + b with slope a = {analysis.trend.slope:.2f} '
                             f'[{a_low:.2f}, {a_high:.2f}]')
  assert a_low > 0 and not any(line.startswith('Trend undetermined') for line in lines)
  flat = dataclasses.replace(analysis, trend_samples=bootstrap.TrendSamples(
      np.linspace(-0.5, 1.5, 101), np.full(101, analysis.trend.intercept), 'logit'))
  assert summary.findings(flat)[1].startswith('Trend undetermined: the slope\'s interval '
                                              'includes 0')


def test_console_table_names_the_metric_and_shows_the_group_labels(study_dir):
  results = load.load_results(str(study_dir))
  for metric, header in (('macro_f1', 'ER (macro-F1 points)'),
                         ('accuracy', 'ER (accuracy points)')):
    analysis = pipeline.analyze(results, metric=metric, num_resamples=50)
    lines = summary.console_group_table(analysis).splitlines()
    assert header in lines[0]
    assert [line.split()[0] for line in lines[1:]] == ['scratch', '25,000', '1,000,000']
    er = analysis.groups['er'].iloc[-1]
    assert f'{er:+.1f} [' in lines[-1]


def _with_coverage(study_dir, covered: dict[float, float]) -> pd.DataFrame:
  """The fixture results with pretrain.target_classes_covered per pre-training quantity (of 8)."""
  df = load.load_results(str(study_dir))
  df['pretrain.target_classes_covered'] = df['pretrain.num_examples'].map(covered)
  df['pretrain.target_classes'] = np.where(df['kind'] == 'scratch', np.nan, 8.0)
  return df


def test_findings_state_each_groups_coverage_of_the_fine_tune_classes(study_dir):
  analysis = pipeline.analyze(_with_coverage(study_dir, {25_000: 3.0, 1_000_000: 8.0}),
                              num_resamples=50)
  assert analysis.group_by == ['pretrain.num_examples']  # coverage is never a group of its own
  coverage = analysis.groups.set_index('group')['benchmark_classes']
  assert pd.isna(coverage['scratch'])
  assert coverage.drop('scratch').to_dict() == {'25,000 images': '3/8', '1,000,000 images': '8/8'}
  lines = summary.findings(analysis)
  (small,) = [line for line in lines if line.startswith('Pre-training on 25,000 images')]
  assert small.endswith(" Its pre-training images include 3 of the fine-tune dataset's 8 classes.")
  (pair,) = [line for line in lines if line.startswith('Pre-training images, largest minus')]
  assert pair.endswith("Their pre-training images include 8/8 and 3/8 of the fine-tune "
                       "dataset's classes: part of the difference may come from those classes, "
                       'not from the setting.')


def test_equal_or_unrecorded_coverage_adds_no_caveat(study_dir):
  equal = summary.findings(pipeline.analyze(
      _with_coverage(study_dir, {25_000: 8.0, 1_000_000: 8.0}), num_resamples=50))
  assert sum("include 8 of the fine-tune dataset's 8 classes" in line for line in equal) == 2
  assert not any('Their pre-training images include' in line for line in equal)
  df = _with_coverage(study_dir, {25_000: 8.0, 1_000_000: 8.0})
  df.loc[df['run_id'] == 'ft_25000_0', 'pretrain.target_classes_covered'] = 5.0  # mixed group
  unrecorded = pipeline.analyze(load.load_results(str(study_dir)), num_resamples=50)
  for analysis in (pipeline.analyze(df, num_resamples=50), unrecorded):
    lines = summary.findings(analysis)
    assert not any(line.startswith('Pre-training on 25,000') and 'images include' in line
                   for line in lines)
    assert not any('Their pre-training images include' in line for line in lines)
