"""A run writes config.json, checkpoints, TensorBoard events and metrics.jsonl."""
import pytest
import pathlib

from tests.helpers.engine import read_json, tiny_config
from jaxrobust.study import stages
from jaxrobust.train import loop
from jaxrobust import runs
from jaxrobust.train import writers


@pytest.mark.slow
def test_run_directory_holds_config_checkpoints_events_and_metrics(reference_run):
  run_dir = pathlib.Path(reference_run.run_dir)
  assert run_dir.parent.name == 'runs'
  config = read_json(run_dir / runs.CONFIG_FILE)
  assert run_dir.name == runs.run_id(config['name'], runs.read_config(run_dir / 'config.json'))
  assert list(run_dir.glob('events.out.tfevents.*'))
  # keep_checkpoints=2 of the saves every 4 steps.
  assert sorted(p.name for p in (run_dir / 'checkpoints').iterdir()
                if p.name.isdigit()) == ['20', '24']


def test_metrics_jsonl_has_the_final_train_loss_and_eval_scores(reference_run):
  records = writers.read_metrics(pathlib.Path(reference_run.run_dir) / 'metrics.jsonl')
  final = {k: v for r in records if r['step'] == 24 for k, v in r.items()}
  assert final['train/loss'] == reference_run.train_loss
  scores = reference_run.scores['test']
  assert final['eval/test/macro_f1'] == scores['macro_f1']
  assert final['eval/test/accuracy'] == scores['accuracy']
  assert final['eval/test/num_examples'] == scores['num_examples'] == 37


def test_every_metrics_jsonl_record_holds_a_scalar(tmp_path):
  writer = writers.JsonlWriter(tmp_path / writers.METRICS_FILE)
  writer.write_scalars(1, {'train/loss': 2.5})
  writer.write_scalars(2, {})  # nothing to write: no line
  writer.close()
  assert writers.read_metrics(tmp_path / writers.METRICS_FILE) == [{'step': 1, 'train/loss': 2.5}]


def test_a_relative_workdir_works(data_dir, tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)  # orbax itself refuses relative checkpoint paths
  results = stages.execute_single(tiny_config(data_dir, num_train_steps=4), 'relative_workdir')
  run_dir = pathlib.Path(results.run_dir)
  assert run_dir.is_absolute() and run_dir.is_relative_to(tmp_path / 'relative_workdir')
  assert (run_dir / 'checkpoints' / '4').is_dir()
