"""A study's controls (PASS/FAIL lines at its end) and the dry run's power line."""
import json
import os

import pandas as pd
import pytest

from jaxrobust import errors
from jaxrobust.analysis import power
from jaxrobust.study import plan_study, run_study
from jaxrobust.study import resolution

from tests.helpers.study import FakeEngine, prepared_small_study

_OTHER = {'different': 'equivalent', 'equivalent': 'inconclusive', 'inconclusive': 'different'}


@pytest.fixture
def study(tmp_path):
  return prepared_small_study(tmp_path)


def _run_with_two_groups(study, workdir: str) -> None:
  """The study on FakeEngine, each fine-tune's pretrain.num_examples set by its setting."""
  run_study(study, workdir, train_fn=FakeEngine())
  for run in plan_study(study, workdir):
    if run.kind == 'finetune':
      path = os.path.join(run.run_dir(workdir), 'result.json')
      result = json.load(open(path))
      result['pretrain']['num_examples'] = int(run.pretrain_setting.removeprefix('n'))
      json.dump(result, open(path, 'w'))


def _verdict(workdir: str) -> str:
  differences = pd.read_csv(os.path.join(workdir, 'report', 'group_differences.csv'))
  (verdict,) = differences['verdict']  # two groups: one pair
  return verdict


def test_controls_end_the_console_with_their_verdict_and_pass_or_fail(study, tmp_path, capsys):
  workdir = str(tmp_path / 'w')
  _run_with_two_groups(study, workdir)
  run_study(study, workdir, train_fn=FakeEngine())  # changed results: the report is rebuilt
  verdict = _verdict(workdir)
  study.controls.kept = {'pair': ('n80', 'n40'), 'expect': verdict, 'about': '80 minus 40'}
  study.controls.missed = {'pair': ('n40', 'n80'), 'expect': _OTHER[verdict],
                           'about': '40 minus 80'}
  capsys.readouterr()
  run_study(study, workdir, train_fn=FakeEngine())  # nothing to train: the report is reprinted
  lines = capsys.readouterr().out.rstrip().splitlines()
  assert lines[-3] == 'Controls:'
  kept, missed = lines[-2:]
  assert kept.startswith(f'kept control (80 minus 40): {verdict}') and kept.endswith('... PASS')
  assert missed.startswith(f'missed control (40 minus 80): {verdict}')
  assert missed.endswith(f'... FAIL (expected {_OTHER[verdict]})')
  groups = pd.read_csv(os.path.join(workdir, 'report', 'group_table.csv'))['group'].tolist()
  n40, n80 = (g for g in groups if g != 'scratch')  # ordered by images: the n40 group first
  assert f'; {n80} minus {n40}: ' in kept and f'; {n40} minus {n80}: ' in missed
  header = lines[lines.index('Findings:') - len(groups) - 2]
  assert header.endswith('[95% interval]  verdict vs trend')
  rows = lines[lines.index('Findings:') - len(groups):lines.index('Findings:')]
  assert rows[0].split()[-1] == '-'  # scratch: the trend is its own
  assert all(row.split()[-1] in _OTHER for row in rows[1:])


@pytest.mark.parametrize('control,message', [
    ({'pair': ('n40', 'n999'), 'expect': 'different', 'about': 'x'}, r'pair=\(.*n999.*two of'),
    ({'pair': ('n40', 'n80'), 'expect': 'same', 'about': 'x'}, r"expect='same': use one of"),
    ({'pair': ('n40', 'n80'), 'expect': 'different'}, r'give exactly pair'),
])
def test_a_control_the_study_cannot_judge_is_refused_before_any_run(study, tmp_path, control,
                                                                    message):
  study.controls.bad = control
  engine = FakeEngine()
  with pytest.raises(errors.ConfigError, match=rf'config.controls.bad.*{message}'):
    run_study(study, str(tmp_path / 'w'), train_fn=engine)
  assert engine.calls == []


def test_the_dry_run_says_which_differences_its_groups_resolve(study, tmp_path, capsys):
  run_study(study, str(tmp_path / 'w'), dry_run=True)
  shipped = json.load(open(resolution.LOCAL_FIGURES))
  line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith('With '))
  assert line.startswith('With 2 models per group, this study resolves differences of about ')
  assert 'from the shipped local figures' in line
  assert f'spreads by {shipped["fine_tune_sd"]:.1f}' in line


def test_with_pretrain_seeds_the_dry_run_counts_pretrained_models(study, tmp_path, capsys):
  study.pretrain_seeds = 3
  run_study(study, str(tmp_path / 'w'), dry_run=True)
  shipped = json.load(open(resolution.LOCAL_FIGURES))
  line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith('With '))
  assert line.startswith('With 3 pre-trained models (each fine-tuned 2 times) per group, ')
  spread = (shipped['pretraining_sd'] ** 2 + shipped['fine_tune_sd'] ** 2 / 2) ** 0.5
  assert f'spreads by {spread:.1f}' in line


def test_groups_of_two_sizes_get_one_figure_each_in_the_dry_run(study, tmp_path, capsys):
  study.pretrain_seeds = 3
  first = next(iter(study.pretrain_settings))
  study.pretrain_settings[first].pretrain_seeds = 2
  run_study(study, str(tmp_path / 'w'), dry_run=True)
  line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith('With '))
  small = power.detectable(2, *_shipped_unit(2))
  large = power.detectable(3, *_shipped_unit(2))
  assert line.startswith(f'With 2 pre-trained models (each fine-tuned 2 times) in {first}, this '
                         f'study resolves differences of about {small[0]:.1f} ER points and '
                         f'shows equivalence within ±{small[1]:.1f}; with 3 in ')
  assert f': {large[0]:.1f} and ±{large[1]:.1f} (' in line
  assert large[0] < small[0]


def _shipped_unit(fine_tunes: int) -> tuple[float, float]:
  """(spread, test sd) of a pre-trained model with that many fine-tunes, shipped figures."""
  shipped = json.load(open(resolution.LOCAL_FIGURES))
  return ((shipped['pretraining_sd'] ** 2 + shipped['fine_tune_sd'] ** 2 / fine_tunes) ** 0.5,
          shipped['test_sd'] / fine_tunes ** 0.5)


def test_a_pilot_and_more_models_resolve_smaller_differences(study, tmp_path):
  pilot = str(tmp_path / 'pilot')
  _run_with_two_groups(study, pilot)
  study.analysis.pilot = pilot
  plan = plan_study(study)
  line = resolution.resolution_line(study, plan)
  assert f'from pilot {pilot}' in line
  more = plan + [r for r in plan if r.kind == 'finetune'] * 3  # 8 models per group
  assert resolution.resolution_line(study, more).startswith('With 8 models per group')

  def about(text):
    return float(text.split('differences of about ')[1].split()[0])
  assert about(resolution.resolution_line(study, more)) < about(line)


def test_without_a_pilot_the_paper_scale_asks_for_one(study):
  study.scale = 'paper'
  assert 'set --config.analysis.pilot=DIR' in resolution.resolution_line(study, plan_study(study))
