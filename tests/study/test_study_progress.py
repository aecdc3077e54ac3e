"""The study's ETA: remaining runs at the measured seconds per step of finished runs."""
import json
import os

import ml_collections
import pytest

from jaxrobust.study.plan import PlannedRun
from jaxrobust.study.progress import StudyProgress


def _run(run_id: str, kind: str, steps: int | None, data_dir: str = '/nowhere',
         num_epochs: float = 2.0) -> PlannedRun:
  config = ml_collections.ConfigDict({
      'num_train_steps': steps, 'num_epochs': num_epochs, 'batch_size': 10,
      'data': {'name': 'toy/small', 'data_dir': data_dir, 'train_split': 'train'}})
  return PlannedRun(run_id=run_id, kind=kind, setting=run_id, pretrain_setting=None,
                    pretrain_id=None, config=config, identity_hash='h', dataset='toy/small',
                    subset=None, steps=steps)


def test_eta_uses_the_latest_run_of_the_same_kind_per_step():
  runs = [_run('p1', 'pretrain', 100), _run('p2', 'pretrain', 100),
          _run('f1', 'finetune', 50), _run('f2', 'finetune', 50)]
  progress = StudyProgress(runs, set())
  assert progress.eta_seconds() is None
  progress.finished(runs[0], 20.0)  # the first run also compiles: 0.2 s/step
  assert progress.eta_seconds() == pytest.approx(100 * 0.2 + 2 * 50 * 0.2)
  progress.finished(runs[1], 10.0)  # warm: 0.1 s/step
  assert progress.eta_seconds() == pytest.approx(2 * 50 * 0.1)
  progress.finished(runs[2], 15.0)  # fine-tunes evaluate too: 0.3 s/step
  assert progress.eta_seconds() == pytest.approx(50 * 0.3)
  progress.finished(runs[3], 15.0)
  assert progress.eta_seconds() == 0.0


def test_steps_unknown_at_planning_come_from_the_built_data(tmp_path):
  version = tmp_path / 'toy' / 'small' / '1.0.0'
  os.makedirs(version)
  (version / 'dataset_info.json').write_text(json.dumps(
      {'splits': [{'name': 'train', 'shardLengths': ['60', '45']}]}))
  runs = [_run('p1', 'pretrain', 100), _run('f1', 'finetune', None, str(tmp_path))]
  progress = StudyProgress(runs, set())
  progress.finished(runs[0], 50.0)
  assert progress.eta_seconds() == pytest.approx(2 * (105 // 10) * 0.5)  # 2 epochs of 10 steps


def test_runs_whose_steps_stay_unknown_count_as_the_mean_run(tmp_path):
  runs = [_run('p1', 'pretrain', 100), _run('p2', 'pretrain', 300),
          _run('f1', 'finetune', None, str(tmp_path))]
  progress = StudyProgress(runs, set())
  progress.finished(runs[0], 10.0)
  progress.finished(runs[1], 30.0)
  assert progress.eta_seconds() == pytest.approx(20.0)



def test_evaluations_count_as_work(tmp_path):
  version = tmp_path / 'toy' / 'small' / '1.0.0'
  os.makedirs(version)
  (version / 'dataset_info.json').write_text(json.dumps(
      {'splits': [{'name': 'train', 'shardLengths': ['100']},
                  {'name': 'test', 'shardLengths': ['300']}]}))
  pretrain = _run('p1', 'pretrain', 100)
  finetune = _run('f1', 'finetune', 20, str(tmp_path))  # 2 epochs of 10 steps
  finetune.config.data.eval_splits = ('test',)
  finetune.config.eval_every_epochs = 1.0
  progress = StudyProgress([pretrain, finetune], set())
  progress.finished(pretrain, 30.0)  # 1,000 training images = 3,000 forward passes
  # 200 training images (600 passes) + 2 evaluations of 300 images (epoch 1, end).
  assert progress.eta_seconds() == pytest.approx(30.0 / 3000 * (600 + 600))


def test_line_counts_running_and_failed_runs_and_divides_the_eta_among_the_running():
  runs = [_run(f'p{i}', 'pretrain', 100) for i in range(4)]
  progress = StudyProgress(runs, set(), clock=lambda: 0.0)
  progress.finished(runs[0], 10.0)
  progress.started('p1', '10.0.0.2 pid 7')
  progress.started('p2', '10.0.0.3 pid 8')
  assert progress.eta_seconds() == pytest.approx(3 * 10.0 / 2)
  progress.failed(runs[3], 'NonFiniteLossError: NaN')
  assert progress.line() == ('study: 1/4 runs done (0 skipped) | 2 running | 1 failed | '
                             'elapsed 0s | ETA 10s')
