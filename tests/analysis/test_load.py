"""Loading results: flattening, results.csv, duplicates and rows without metrics."""
import json
import logging
import pathlib

import numpy as np
import pandas as pd
import pytest

import analysis_fixtures as fixtures
from jaxrobust.analysis import errors
from jaxrobust.analysis import load


def test_flatten_result_joins_keys_with_dots_and_drops_null_sections():
  row = load.flatten_result({'run_id': 'a', 'pretrain': None,
                             'metrics': {'id': {'macro_f1': 0.5, 'split': 'id_test'}},
                             'finetune': {'seed': 1, 'tags': [1, 2]}})
  assert row == {'run_id': 'a', 'metrics.id.macro_f1': 0.5, 'metrics.id.split': 'id_test',
                 'finetune.seed': 1, 'finetune.tags': '[1, 2]'}


def test_collect_results_has_one_row_per_result_json(study_dir):
  df = load.collect_results(study_dir)
  assert len(df) == 12
  assert list(df.columns[:3]) == ['run_id', 'study', 'kind']
  assert df['run_id'].is_monotonic_increasing
  one = json.loads((study_dir / 'runs/ft_25000_1/result.json').read_text())
  row = df.set_index('run_id').loc['ft_25000_1']
  assert row['pretrain.num_examples'] == 25_000
  assert row['metrics.ood.macro_f1'] == one['metrics']['ood']['macro_f1']
  assert np.isnan(df.set_index('run_id').loc['scratch_0', 'pretrain.num_examples'])


def _short(split, arrays):
  return {'split': split, **fixtures.scores(*arrays)}


def test_selection_switches_the_rows_model_and_its_predictions(tmp_path):
  rng = np.random.default_rng(0)
  best_id, best_ood, last_id, last_ood = (fixtures.test_set(rng, 0.5) for _ in range(4))
  entry = lambda step, folder, i, o, split='val': {  # noqa: E731
      'split': split, 'epoch': step / 10, 'step': step, 'score': 0.4, 'predictions': folder,
      'metrics': {'id': _short('id_test', i), 'ood': _short('test', o)}}
  fixtures.write_run(
      tmp_path, 'ft_a', 'finetune', best_id, best_ood,
      selection={'rule': 'ood_val', 'step': 20, 'epoch': 2.0, 'predictions': '.'},
      selections={'ood_val': entry(20, '.', best_id, best_ood),
                  'last': entry(30, 'selection/step_30', last_id, last_ood, split=None)})
  folder = tmp_path / 'runs' / 'ft_a' / 'selection' / 'step_30'
  folder.mkdir(parents=True)
  np.savez(folder / 'predictions_test.npz', labels=last_ood[0], predictions=last_ood[1])
  df = load.collect_results(tmp_path).assign(workdir=str(tmp_path))
  same = load.apply_selection(df, 'ood_val').iloc[0]
  assert same['metrics.ood.macro_f1'] == fixtures.scores(*best_ood)['macro_f1']
  row = load.apply_selection(df, 'last').iloc[0]
  assert row['metrics.ood.macro_f1'] == fixtures.scores(*last_ood)['macro_f1']
  assert row['metrics.id.macro_f1'] == fixtures.scores(*last_id)['macro_f1']
  assert (row['selection.rule'], row['selection.step']) == ('last', 30)
  assert pd.isna(row['selection.split'])  # `last` selects on no split (null in result.json)
  labels, predictions = load.load_predictions(row, 'test')
  np.testing.assert_array_equal(predictions, last_ood[1])
  with pytest.raises(errors.AnalysisError, match='--selection'):
    load.apply_selection(df, 'best_test')


def test_results_csv_reads_back_the_same_rows_as_the_workdir(study_dir):
  path = load.write_results_csv(study_dir)
  assert path == str(study_dir / 'results.csv')
  from_csv = load.load_results(path)
  from_json = load.load_results(str(study_dir))
  pd.testing.assert_frame_equal(from_csv, from_json, check_dtype=False, check_exact=True)


def test_identical_duplicates_are_dropped(study_dir):
  load.write_results_csv(study_dir)
  df = load.load_results([str(study_dir), str(study_dir / 'results.csv')])
  assert len(df) == 12


def test_duplicate_run_ids_with_different_content_are_refused(study_dir, tmp_path):
  rng = np.random.default_rng(0)
  other = tmp_path / 'other'
  fixtures.write_run(other, 'scratch_0', 'scratch', fixtures.test_set(rng, 0.4),
                     fixtures.test_set(rng, 0.3))
  with pytest.raises(ValueError, match="'scratch_0' appears twice with different content"):
    load.load_results([str(study_dir), str(other)])


def test_rows_without_metrics_are_reported_and_skipped(study_dir):
  rng = np.random.default_rng(0)
  result = fixtures.write_run(study_dir, 'crashed', 'finetune', fixtures.test_set(rng, 0.5),
                              fixtures.test_set(rng, 0.4))
  del result['metrics']['ood']
  (study_dir / 'runs/crashed/result.json').write_text(json.dumps(result))
  complete, skipped = load.split_complete(load.load_results(str(study_dir)), 'macro_f1')
  assert 'crashed' not in set(complete['run_id'])
  assert len(complete) == 12
  assert skipped[['run_id', 'reason']].values.tolist() == [
      ['crashed', 'no metrics.ood.macro_f1']]


def test_a_folder_without_results_is_a_clear_error(tmp_path):
  with pytest.raises(errors.AnalysisError, match='No runs/<run_id>/result.json or results.csv'):
    load.load_results(str(tmp_path))


def test_predictions_are_read_from_the_rows_workdir(study_dir):
  row = load.load_results(str(study_dir)).set_index('run_id', drop=False).loc['scratch_2']
  labels, predictions = load.load_predictions(row, 'test')
  assert labels.shape == predictions.shape == (fixtures.NUM_EXAMPLES,)
  assert load.load_predictions(row, 'val') is None


def test_gs_paths_go_through_epath():
  assert type(load.open_path('gs://bucket/study')).__module__.startswith('etils')


def _report_tables(out) -> dict:
  return {name: (out / f'{name}.csv').read_text()
          for name in ('er_table', 'group_table', 'group_differences')}


def test_a_garbage_row_in_results_csv_is_skipped_and_leaves_the_report_unchanged(
    study_dir, tmp_path, caplog):
  from jaxrobust.analysis import report  # pylint: disable=g-import-not-at-top  (matplotlib)
  csv = pathlib.Path(load.write_results_csv(study_dir))
  options = {'num_resamples': 50, 'group_by': ['pretrain.num_examples']}
  clean = report.write_report(str(csv), tmp_path / 'clean', **options)
  header = csv.read_text().splitlines()[0].split(',')
  garbage = ['' for _ in header]
  garbage[header.index('run_id')] = 'garbage'
  garbage[header.index('kind')] = 'finetune'
  garbage[header.index('pretrain.num_examples')] = 'lots'
  garbage[header.index('metrics.id.macro_f1')] = 'n/a'
  with csv.open('a') as f:
    f.write(','.join(garbage) + '\n' + 'x,' * (len(header) + 3) + '\n')
  with caplog.at_level(logging.WARNING):
    dirty = report.write_report(str(csv), tmp_path / 'dirty', **options)
  assert _report_tables(tmp_path / 'dirty') == _report_tables(tmp_path / 'clean')
  assert list(dirty.table['group']) == list(clean.table['group'])
  assert '25,000 images' in set(dirty.table['group'])
  skipped = pd.read_csv(tmp_path / 'dirty' / 'skipped.csv')
  assert skipped[['run_id', 'reason']].values.tolist() == [
      ['x', 'a line of 34 fields, more than the header has'.replace('34', str(len(header) + 4))],
      ['garbage', "not a number: pretrain.num_examples='lots'"]]
  assert sum("not a number: pretrain.num_examples='lots'" in r.getMessage()
             for r in caplog.records) == 1
