"""The runner's decisions: skip finished runs, resume after a kill, slices, blocked fine-tunes.

The engine is replaced by `FakeEngine` (study_helpers) so these tests check what the runner decides,
in seconds; tests/study/test_local_studies.py runs the real engine.
"""
import hashlib
import json
import os
import pathlib
import subprocess
import sys

import pandas as pd
import pytest

from jaxrobust import analysis
from jaxrobust import errors
from jaxrobust.analysis import plots
from jaxrobust.study import plan_study, run_study
from jaxrobust.study import plan as plan_lib
from jaxrobust.study import workdir_lock

from tests.helpers import lock_holder
from tests.helpers.configs import REPO
from tests.helpers.study import FakeEngine, prepared_small_study


@pytest.fixture
def study(tmp_path):
  return prepared_small_study(tmp_path)


def test_first_run_executes_every_run_in_plan_order(study, tmp_path):
  engine = FakeEngine()
  workdir = str(tmp_path / 'w')
  out = run_study(study, workdir, train_fn=engine)
  assert engine.calls == out['planned'] == out['executed']
  assert json.load(open(os.path.join(workdir, 'study.json')))['study'] == 'small'
  assert os.path.exists(os.path.join(workdir, 'results.csv'))
  assert os.path.exists(os.path.join(workdir, 'report', 'report.md'))


def test_second_run_of_the_same_command_does_nothing(study, tmp_path, capsys):
  workdir = str(tmp_path / 'w')
  first = run_study(study, workdir, train_fn=FakeEngine())
  report = os.path.join(workdir, 'report', 'report.md')
  written = os.stat(report).st_mtime_ns
  capsys.readouterr()
  again = FakeEngine()
  out = run_study(study, workdir, train_fn=again)
  assert again.calls == [] and out['executed'] == []
  assert out['skipped'] == out['planned']
  assert os.stat(report).st_mtime_ns == written  # same results: the report is kept
  assert out['er_by_setting'] == first['er_by_setting']
  assert 'study: 9/9 runs done (9 skipped) | elapsed 0s | ETA 0s' in capsys.readouterr().out


def test_restart_after_a_kill_does_not_redo_finished_runs(study, tmp_path):
  workdir = str(tmp_path / 'w')
  killed = FakeEngine(die_at=4)
  with pytest.raises(KeyboardInterrupt):
    run_study(study, workdir, train_fn=killed)
  restarted = FakeEngine()
  out = run_study(study, workdir, train_fn=restarted)
  assert restarted.calls == out['planned'][3:]  # the interrupted run resumes, the rest follow
  assert out['skipped'] == out['planned'][:3]


def test_a_run_killed_before_its_first_checkpoint_starts_again_not_resuming(study, tmp_path,
                                                                             capsys):
  workdir = str(tmp_path / 'w')
  with pytest.raises(KeyboardInterrupt):
    run_study(study, workdir, train_fn=FakeEngine(die_at=1))
  run_study(study, workdir, train_fn=FakeEngine())
  first = plan_study(study, workdir)[0].run_id
  out = capsys.readouterr().out
  assert 'resuming' not in out and out.count(f'study: finished {first} ') == 1


def test_a_run_with_a_checkpoint_is_reported_as_resuming_at_its_step(study, tmp_path, capsys):
  workdir = str(tmp_path / 'w')
  with pytest.raises(KeyboardInterrupt):
    run_study(study, workdir, train_fn=FakeEngine(die_at=1))
  first = plan_study(study, workdir)[0]
  for step in ('2', '4', '6.corrupt-1'):
    os.makedirs(os.path.join(first.run_dir(workdir), 'checkpoints', step))
  run_study(study, workdir, train_fn=FakeEngine())
  assert f'study: resuming {first.run_id} at step 4 (' in capsys.readouterr().out


def _report_is_built_from_results_csv(study, workdir, tmp_path):
  """report/ holds what a fresh report of results.csv holds, and that csv's hash."""
  results_csv = os.path.join(workdir, 'results.csv')
  fresh = tmp_path / 'fresh'
  analysis.write_report([results_csv], str(fresh), metric=study.analysis.metric,
                        transform=study.analysis.transform,
                        group_by=list(study.analysis.group_by) or None,
                        equivalence_margin=study.analysis.equivalence_margin)
  report = pathlib.Path(workdir, 'report')
  assert (report / 'er_table.csv').read_text() == (fresh / 'er_table.csv').read_text()
  body = lambda folder: (folder / 'report.md').read_text().split('## Findings', 1)[1]
  assert body(report) == body(fresh)  # the header names the study and its settings
  digest = hashlib.sha256(pathlib.Path(results_csv).read_bytes()).hexdigest()
  assert (report / 'results.sha256').read_text().strip() == digest
  assert not os.path.exists(f'{report}.partial') and not os.path.exists(f'{report}.old')


def _change_one_metric(study, workdir):
  finetune = next(r for r in plan_study(study, workdir) if r.kind == 'finetune')
  path = os.path.join(finetune.run_dir(workdir), 'result.json')
  result = json.load(open(path))
  result['metrics']['ood']['macro_f1'] += 0.05
  json.dump(result, open(path, 'w'))


def _analysis_cli(*args: str) -> subprocess.CompletedProcess:
  return subprocess.run([sys.executable, '-m', 'jaxrobust.analysis', *args], cwd=REPO,
                        capture_output=True, text=True, timeout=300, check=False)


def test_an_analysis_with_other_settings_never_changes_the_studys_report(study, tmp_path):
  workdir = str(tmp_path / 'w')
  run_study(study, workdir, train_fn=FakeEngine())
  report = pathlib.Path(workdir, 'report')
  before = {name: (report / name).read_text() for name in ('er_table.csv', 'report.md')}
  other = _analysis_cli(workdir, '--metric=accuracy')
  assert other.returncode == 0, other.stderr
  written = pathlib.Path(workdir, 'reports', 'accuracy-logit-margin2', 'report.md')
  assert written.exists() and 'metric: accuracy' in written.read_text()
  refused = _analysis_cli(workdir, '--metric=accuracy', f'--out={report}')
  assert refused.returncode == 1
  assert refused.stderr.strip().splitlines()[-1].startswith(
      f"error: {report} is a study's own report, made with other settings")
  run_study(study, workdir, train_fn=FakeEngine())  # trains nothing, keeps its report
  assert {name: (report / name).read_text() for name in before} == before
  assert 'metric: macro_f1' in before['report.md']


def test_a_report_made_with_other_settings_is_rebuilt_by_the_rerun(study, tmp_path):
  workdir = str(tmp_path / 'w')
  run_study(study, workdir, train_fn=FakeEngine())
  report = pathlib.Path(workdir, 'report')
  expected = (report / 'report.md').read_text()
  # Whatever wrote it: a report of other settings in the study's folder, results unchanged.
  analysis.write_report([os.path.join(workdir, 'results.csv')], str(report) + '.other',
                        metric='accuracy')
  (report / 'report.md').write_text((pathlib.Path(str(report) + '.other') / 'report.md')
                                    .read_text())
  (report / 'settings.json').write_text(
      (pathlib.Path(str(report) + '.other') / 'settings.json').read_text())
  run_study(study, workdir, train_fn=FakeEngine())
  assert (report / 'report.md').read_text() == expected


def test_a_changed_result_rebuilds_the_report(study, tmp_path):
  workdir = str(tmp_path / 'w')
  run_study(study, workdir, train_fn=FakeEngine())
  before = pathlib.Path(workdir, 'report', 'er_table.csv').read_text()
  _change_one_metric(study, workdir)
  run_study(study, workdir, train_fn=FakeEngine())
  assert pathlib.Path(workdir, 'report', 'er_table.csv').read_text() != before
  _report_is_built_from_results_csv(study, workdir, tmp_path)


def test_the_studys_equivalence_margin_reaches_the_report(study, tmp_path):
  study.analysis.equivalence_margin = 3.5
  workdir = str(tmp_path / 'w')
  run_study(study, workdir, train_fn=FakeEngine())
  groups = pd.read_csv(pathlib.Path(workdir, 'report', 'group_table.csv'))
  assert (groups['margin'] == 3.5).all()
  assert set(groups['verdict'].dropna()) <= {'different', 'equivalent', 'inconclusive'}
  assert groups['verdict'].notna().sum() == len(groups) - 1  # every group but scratch


def test_a_kill_during_the_report_is_repaired_by_the_rerun(study, tmp_path, monkeypatch):
  workdir = str(tmp_path / 'w')
  run_study(study, workdir, train_fn=FakeEngine())
  _change_one_metric(study, workdir)

  def killed(*args, **kwargs):
    raise KeyboardInterrupt('killed after the CSV tables, before report.md')
  with monkeypatch.context() as patch:
    patch.setattr(plots, 'save_figure', killed)
    with pytest.raises(KeyboardInterrupt):
      run_study(study, workdir, train_fn=FakeEngine())
  assert pathlib.Path(workdir, 'report', 'report.md').exists()  # the old report, whole
  run_study(study, workdir, train_fn=FakeEngine())
  _report_is_built_from_results_csv(study, workdir, tmp_path)


def test_changed_config_is_a_new_run(study, tmp_path):
  workdir = str(tmp_path / 'w')
  run_study(study, workdir, train_fn=FakeEngine())
  study.scratch_settings.lr3e3.optimizer.learning_rate = 5e-3
  engine = FakeEngine()
  run_study(study, workdir, train_fn=engine)
  assert len(engine.calls) == 1 and engine.calls[0].startswith('scratch-lr3e3-')


def test_marker_with_another_hash_is_not_finished(study, tmp_path):
  workdir = str(tmp_path / 'w')
  run_study(study, workdir, train_fn=FakeEngine())
  first = plan_study(study, workdir)[0]
  marker = os.path.join(first.run_dir(workdir), 'finished.json')
  record = json.load(open(marker))
  record['identity_hash'] = '0' * 64
  json.dump(record, open(marker, 'w'))
  engine = FakeEngine()
  run_study(study, workdir, train_fn=engine)
  assert engine.calls == [first.run_id]


def test_slices_run_each_run_exactly_once_and_then_the_report(study, tmp_path):
  workdir = str(tmp_path / 'w')
  plan = plan_study(study, workdir)
  engine = FakeEngine()
  outs = [run_study(study, workdir, only=glob, train_fn=engine)
          for glob in plan_lib.slice_globs(plan)]
  assert sorted(engine.calls) == sorted(r.run_id for r in plan)
  assert 'report_dir' not in outs[0] and 'report_dir' in outs[-1]


def test_slice_without_its_unfinished_pretrain_is_refused_naming_it(study, tmp_path):
  workdir = str(tmp_path / 'w')
  pre = plan_study(study, workdir)[0].run_id
  engine = FakeEngine()
  with pytest.raises(errors.UserError, match=f'neither finished nor selected: {pre}'):
    run_study(study, workdir, only='finetune-n40-*', train_fn=engine)
  assert engine.calls == []


def test_slice_of_finetunes_runs_once_its_pretrain_finished(study, tmp_path):
  workdir = str(tmp_path / 'w')
  run_study(study, workdir, only='pretrain-*', train_fn=FakeEngine())
  engine = FakeEngine()
  run_study(study, workdir, only='finetune-n40-*', train_fn=engine)
  assert [c.rsplit('-', 1)[0] for c in engine.calls] == ['finetune-n40-lr1e3',
                                                          'finetune-n40-lr3e4']


def test_progress_line_counts_runs_and_gives_an_eta(study, tmp_path, capsys):
  run_study(study, str(tmp_path / 'w'), train_fn=FakeEngine())
  lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith('study: ') and
           'runs done' in l]
  assert lines[0].startswith('study: 0/9 runs done (0 skipped)') and 'ETA ?' in lines[0]
  assert lines[-1].startswith('study: finished scratch-') and 'ETA 0s' in lines[-1]
  assert '| 9/9 runs done (0 skipped) |' in lines[-1]
  finished = [l for l in lines if l.startswith('study: finished finetune-')]
  assert len(finished) == 4  # one line per run: its ID and OOD scores, then the progress
  assert all(' macro-F1 ' in l and 'OOD test' in l for l in finished)


def test_console_ends_with_er_per_pretraining_setting_and_the_report_path(study, tmp_path,
                                                                           capsys):
  workdir = str(tmp_path / 'w')
  out = run_study(study, workdir, train_fn=FakeEngine())
  lines = capsys.readouterr().out.rstrip().splitlines()
  assert lines[-1] == f'study: report written to {workdir}/report/report.md'
  groups = [row[0] for row in out['er_by_setting']]
  assert groups[0] == 'scratch' and len(groups) > 1  # the baseline, then pre-trained groups
  findings = lines.index('Findings:')
  header = findings - 2 - len(groups)  # header, rule, one row a group
  assert lines[header].split()[:2] == ['pre-training', 'models']
  assert lines[findings + 1].startswith('- Baseline trend')


def test_results_csv_holds_only_this_plans_runs(study, tmp_path):
  workdir = str(tmp_path / 'w')
  run_study(study, workdir, train_fn=FakeEngine())
  old = plan_study(study, workdir)[-1].run_id
  study.scratch_settings.lr1e3_s1.seed = 7  # a new run replaces the old one in the plan
  out = run_study(study, workdir, train_fn=FakeEngine())
  with open(out['results_csv']) as f:
    ids = [line.split(',')[0] for line in f.readlines()[1:]]
  assert old not in ids and os.path.isdir(os.path.join(workdir, 'runs', old))
  assert sorted(ids) == sorted(r.run_id for r in plan_study(study, workdir) if r.kind != 'pretrain')


@pytest.mark.slow
def test_a_study_on_a_held_workdir_is_refused_before_writing_and_waits_with_wait(study, tmp_path):
  workdir = tmp_path / 'w'
  holder = lock_holder.start(workdir, 3)
  with pytest.raises(workdir_lock.WorkdirLockedError, match=f'pid {holder.pid} on '):
    run_study(study, str(workdir), train_fn=FakeEngine())
  assert sorted(os.listdir(workdir)) == [workdir_lock.LOCK_FILE]  # no study.json, no run
  engine = FakeEngine()
  out = run_study(study, str(workdir), train_fn=engine, wait=True)
  assert holder.wait(timeout=10) == 0
  assert engine.calls == out['planned']
  assert not (workdir / workdir_lock.LOCK_FILE).exists()


def test_a_study_run_with_an_out_of_range_value_is_refused_before_writing(study, tmp_path):
  study.pretrain.optimizer.learning_rate = -0.1
  with pytest.raises(errors.ConfigError, match=r'\(pretrain run\): config.optimizer.learning_rate'
                     r'=-0.1: it must be a positive number'):
    run_study(study, str(tmp_path / 'w'), train_fn=FakeEngine())
  assert not (tmp_path / 'w').exists()
