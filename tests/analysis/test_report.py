"""The report folder, its figures and the command line."""
import errno
import pathlib
import subprocess
import sys

from matplotlib import colors as mcolors
import numpy as np
import pandas as pd
import pytest

import analysis_fixtures as fixtures
from jaxrobust.analysis import errors
from jaxrobust.analysis import load
from jaxrobust.analysis import pipeline
from jaxrobust.analysis import plots
from jaxrobust.analysis import report


def test_cli_writes_the_report_into_the_workdir_without_importing_jax(study_dir):
  # The default for a single workdir: a folder named after the settings.
  out = study_dir / 'reports' / report.settings_name(report.report_settings(num_resamples=100))
  code = ('import runpy, sys\n'
          f'sys.argv = ["analysis", "{study_dir}", "--num_resamples=100"]\n'
          'try:\n  runpy.run_module("jaxrobust.analysis", run_name="__main__")\n'
          'except SystemExit as e:\n  assert not e.code, e.code\n'
          'assert "jax" not in sys.modules, "the analysis imported jax"\n')
  done = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                        timeout=120)
  assert done.returncode == 0, done.stderr[-2000:]
  printed = done.stdout.strip().splitlines()
  assert printed[-1] == f'report: {out / "report.md"}'
  assert 'ER (macro-F1 points)' in printed[0]
  assert printed[1].split()[0] == 'scratch'
  text = (out / 'report.md').read_text()
  findings = text.split('## Findings\n\n')[1].split('\n\n')[0].splitlines()
  assert findings and all(line in printed for line in findings)  # the same findings
  assert any(line.startswith('- Pre-training on 1,000,000 images (3 models): ')
             for line in findings)
  for name in ('report.md', 'er_table.csv', 'group_table.csv', 'group_differences.csv',
               'line_differences.csv', 'id_vs_ood.png', 'id_vs_ood.svg', 'er_vs_num_examples.png',
               'er_vs_num_examples.svg'):
    assert (out / name).stat().st_size > 0, name
  table = pd.read_csv(out / 'er_table.csv')
  assert {'run_id', 'kind', 'id', 'ood', 'expected_ood', 'er', 'er_low', 'er_high'} <= set(
      table.columns)
  assert len(table) == 12
  assert text.startswith('# Effective robustness report\n\n- study: ')
  assert 'How to read it:' in text and '`inconclusive`' in text
  assert '\n## Findings\n' in text
  assert '![OOD vs ID](id_vs_ood.png)' in text
  assert '| 1,000,000 images | 3 |' in text


def test_out_defaults_to_a_folder_named_after_the_settings_of_a_single_workdir_only():
  settings = report.report_settings(metric='accuracy', equivalence_margin=3)
  assert report.report_dir(['study'], None, settings) == 'study/reports/accuracy-logit-margin3'
  assert report.report_dir(['a', 'b'], 'x', settings) == 'x'
  seeded = report.report_dir(['study'], None, report.report_settings(seed=1))
  assert seeded.startswith('study/reports/macro_f1-logit-margin2-') and seeded != settings
  for inputs in (['a', 'b'], ['study/results.csv']):
    with pytest.raises(errors.AnalysisError, match='^Pass --out=DIR: the default '
                       '.DIR/reports/<settings>. needs exactly one study workdir'):
      report.report_dir(inputs, None, settings)


def test_cli_reports_bad_input_in_one_line(tmp_path):
  workdir = tmp_path / 'study'
  rng = np.random.default_rng(0)
  fixtures.write_run(workdir, 'only_scratch', 'scratch', fixtures.test_set(rng, 0.5),
                     fixtures.test_set(rng, 0.4))
  done = subprocess.run(
      [sys.executable, '-m', 'jaxrobust.analysis', str(workdir), f'--out={tmp_path / "out"}'],
      capture_output=True, text=True, timeout=120)
  assert done.returncode == 1
  last = done.stderr.strip().splitlines()[-1]
  assert last.startswith('error: Need at least two baseline models to fit the trend, found 1')
  assert 'Traceback' not in done.stderr


@pytest.mark.parametrize('where', ['under a file', 'read-only'])
def test_an_output_folder_that_cannot_be_written_is_one_error_line(
    where, study_dir, tmp_path, monkeypatch):
  (tmp_path / 'file').write_text('')
  out = tmp_path / 'file' / 'report'
  if where == 'read-only':  # file modes do not stop root: the write itself is refused
    out = tmp_path / 'read_only'
    def refuse(path, *args, **kwargs):
      raise PermissionError(errno.EACCES, 'Permission denied', str(path))
    monkeypatch.setattr(pathlib.Path, 'write_text', refuse)
  with pytest.raises(errors.AnalysisError, match=f'Cannot write the report to {out} .*--out'):
    report.write_report(str(study_dir), out, num_resamples=20)


def test_report_lists_skipped_runs(study_dir, tmp_path):
  (study_dir / 'runs/no_metrics').mkdir()
  (study_dir / 'runs/no_metrics/result.json').write_text('{"run_id": "no_metrics", '
                                                         '"kind": "finetune"}')
  analysis = report.write_report(str(study_dir), tmp_path / 'out', num_resamples=50)
  assert analysis.skipped['run_id'].tolist() == ['no_metrics']
  text = (tmp_path / 'out/report.md').read_text()
  assert '## Skipped runs' in text and '| no_metrics | no metrics.id.macro_f1 |' in text


def _legend(ax) -> list[str]:
  return [t.get_text() for t in ax.get_legend().get_texts()]


def test_id_vs_ood_axes_use_the_transform_with_percent_ticks_and_say_so(study_dir):
  analysis = pipeline.analyze(load.load_results(str(study_dir)), num_resamples=50)
  ax = plots.plot_id_vs_ood(analysis).axes[0]
  assert ax.get_xscale() == ax.get_yscale() == 'function'
  labels = [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
  assert labels and all(label.endswith('%') for label in labels)
  assert ax.get_xlabel() == 'ID macro-F1 (%) on id_test, logit scale'
  assert ax.get_ylabel() == 'OOD macro-F1 (%) on test, logit scale'
  assert ax.get_title()
  assert _legend(ax) == [
      'baseline trend (6 models)', '95% band of the trend', 'y = x',
      "a group's own line (3+ models)", '95% band of its line', 'scratch (6 models)', '25,000 images (3 models)',
      '1,000,000 images (3 models)']


def test_a_group_of_two_models_gets_no_line_in_the_id_vs_ood_plot(study_dir):
  (study_dir / 'runs/ft_25000_2/result.json').unlink()
  analysis = pipeline.analyze(load.load_results(str(study_dir)), num_resamples=50)
  ax = plots.plot_id_vs_ood(analysis).axes[0]
  colors = plots.group_colors(analysis.groups, analysis.group_by)
  drawn = [line for line in ax.get_lines() if line.get_linestyle() == '-']
  def lines_of(group):
    return [line for line in drawn if mcolors.same_color(line.get_color(), colors[group])]
  assert not lines_of('25,000 images')
  assert len(lines_of('1,000,000 images')) == 1
  assert '25,000 images (2 models)' in _legend(ax)


def test_er_vs_quantity_uses_a_log_axis_and_a_legend_entry_per_colour(study_dir):
  analysis = pipeline.analyze(load.load_results(str(study_dir)), num_resamples=50)
  ax = plots.plot_er_vs_property(analysis, 'pretrain.num_examples').axes[0]
  assert ax.get_xscale() == 'log'
  assert [t.get_text() for t in ax.get_xticklabels()] == ['25K', '1M']
  assert ax.get_xlabel() == 'pre-training images (log scale)'
  assert ax.get_ylabel() == 'ER (OOD macro-F1 points above the trend)'
  assert ax.get_title() == 'Effective robustness vs pre-training images'
  legend = ax.get_legend()
  entries = dict(zip(_legend(ax), legend.legend_handles))
  colors = plots.group_colors(analysis.groups, analysis.group_by)
  for group in ('25,000 images', '1,000,000 images'):
    face = entries[f'{group} (3 models)'].get_facecolor()[0]
    assert mcolors.same_color(face, colors[group]), group


def test_a_category_column_with_missing_values_gets_an_na_category():
  values = pd.Series(['animal', np.nan, 'all'], dtype='str')
  x, categories, log_x = plots._positions(values)  # pylint: disable=protected-access
  assert categories == ['all', 'animal', 'n/a'] and not log_x
  np.testing.assert_array_equal(x, [1, 2, 0])
