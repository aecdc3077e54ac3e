"""A fine-tune from a 5-class pre-training onto 7-class camera traps writes results as specified."""
import json

import numpy as np
import pytest
from sklearn.metrics import f1_score

from jaxrobust import runs

from tests.helpers import finetune as ff

EVAL_SPLITS = ff.EVAL_SPLITS
RULES = ('ood_val', 'id_val', 'last')
RULE_SPLITS = {'ood_val': 'val', 'id_val': 'id_val'}


def _result(model_dir) -> dict:
  return json.loads((model_dir / 'result.json').read_text())


def _predictions(model_dir, split) -> dict[str, np.ndarray]:
  with np.load(model_dir / f'predictions_{split}.npz') as npz:
    return dict(npz)


def _history(finetune_dir) -> list[dict]:
  return json.loads((finetune_dir / 'selection' / 'evaluations.json').read_text())


@pytest.mark.slow
def test_result_json_has_the_design_schema(finetune_dir):
  result = _result(finetune_dir)
  assert {'run_id', 'study', 'kind', 'pretrain', 'finetune', 'metrics', 'config_hash',
          'wall_seconds'} <= set(result)
  assert result['run_id'] == finetune_dir.name
  assert result['kind'] == 'finetune'
  assert result['study'] is None  # a single run, not part of a study
  assert result['wall_seconds'] > 0
  for role, split in (('id', 'id_test'), ('ood', 'test')):
    assert {'split', 'macro_f1', 'accuracy', 'num_examples'} <= set(result['metrics'][role])
    assert result['metrics'][role]['split'] == split
  assert sorted(result['metrics']['splits']) == sorted(EVAL_SPLITS)


def test_pretrain_block_is_read_from_the_pretraining_run(finetune_dir, pretrain_dir):
  pretrain = _result(finetune_dir)['pretrain']
  assert pretrain == {
      'source': 'ft_pretrain_images', 'num_examples': ff.PRETRAIN_EXAMPLES,
      'num_classes': ff.PRETRAIN_CLASSES, 'label_level': 'label',
      'images_per_class': ff.PRETRAIN_EXAMPLES // ff.PRETRAIN_CLASSES,
      'diversity_ratio': None, 'semantics': None, 'part': None, 'arch': 'resnet_tiny',
      'seed': 0,
      'steps': ff.PRETRAIN_STEPS,
      # A test dataset nobody matched to the camera-trap species: its coverage is not known.
      'target_classes_covered': None, 'target_classes': ff.WILDCAM_CLASSES - 1}
  assert _result(finetune_dir)['pretrain_checkpoint'] == str(
      pretrain_dir / 'checkpoints' / str(ff.PRETRAIN_STEPS))


def test_finetune_block_describes_the_recipe(finetune_dir):
  assert _result(finetune_dir)['finetune'] == {
      'dataset': ff.WILDCAM, 'lr': 1e-3, 'epochs': 0.4,  # 6 steps of 15 per epoch
      'batch_size': 16, 'seed': 0, 'resolution': ff.IMAGE_SIZE, 'arch': 'resnet_tiny',
      'mode': 'full', 'steps': ff.FINETUNE_STEPS}


def test_config_hash_does_not_depend_on_where_the_pretraining_run_lives(finetune_dir,
                                                                         pretrain_dir):
  config = runs.read_config(finetune_dir / 'config.json')
  config.init.model_init = pretrain_dir.name
  assert _result(finetune_dir)['config_hash'] == runs.config_hash(config)


@pytest.mark.parametrize('split', EVAL_SPLITS)
def test_every_example_is_predicted_once_in_split_order(data_dir, finetune_dir, split):
  predictions = _predictions(finetune_dir, split)
  labels = ff.wildcam_labels(data_dir, split)
  assert labels.size % 16  # the last eval batch is padded
  np.testing.assert_array_equal(predictions['labels'], labels)
  assert predictions['predictions'].shape == labels.shape
  assert predictions['logits'].shape == (labels.size, ff.WILDCAM_CLASSES)
  np.testing.assert_array_equal(predictions['predictions'],
                                predictions['logits'].argmax(-1))


def _check_scores(entry, model_dir):
  p = _predictions(model_dir, entry['split'])
  labels, predictions = p['labels'], p['predictions']
  assert entry['macro_f1'] == f1_score(labels, predictions, average='macro',
                                       labels=np.unique(labels), zero_division=0)
  assert entry['accuracy'] == np.mean(labels == predictions)
  assert entry['num_examples'] == labels.size


def test_scores_recompute_exactly_from_the_predictions(finetune_dir):
  result = _result(finetune_dir)
  for entry in (result['metrics']['id'], result['metrics']['ood']):
    _check_scores(entry, finetune_dir)
    p = _predictions(finetune_dir, entry['split'])
    assert entry['classes'] == np.unique(p['labels']).tolist()
    np.testing.assert_allclose(
        entry['per_class_f1'], f1_score(p['labels'], p['predictions'], average=None,
                                        labels=np.unique(p['labels']), zero_division=0),
        rtol=0, atol=0)
  for split, scores in result['metrics']['splits'].items():
    p = _predictions(finetune_dir, split)
    assert scores['accuracy'] == np.mean(p['labels'] == p['predictions'])


def test_scores_cover_only_the_classes_each_split_contains(data_dir, finetune_dir):
  for entry in _result(finetune_dir)['metrics'].values():
    if 'classes' in entry:
      labels = ff.wildcam_labels(data_dir, entry['split'])
      assert entry['classes'] == np.unique(labels).tolist()
      assert len(entry['per_class_f1']) == len(entry['classes'])


def test_validation_splits_are_scored_every_time_and_test_splits_only_at_a_new_best(
    finetune_dir):
  history = _history(finetune_dir)
  assert [e['step'] for e in history] == [2, 4, ff.FINETUNE_STEPS]
  best = {}
  for entry in history[:-1]:
    improved = any(entry['scores'][s]['macro_f1'] > best.get(s, -1) for s in RULE_SPLITS.values())
    for s in RULE_SPLITS.values():
      best[s] = max(best.get(s, -1), entry['scores'][s]['macro_f1'])
    expected = EVAL_SPLITS if improved else ('id_val', 'val')
    assert sorted(entry['scores']) == sorted(expected)
  assert sorted(history[-1]['scores']) == sorted(EVAL_SPLITS)  # the last epoch: every split


def test_result_holds_the_selected_and_the_last_epoch_under_every_rule(finetune_dir):
  result, history = _result(finetune_dir), _history(finetune_dir)
  assert sorted(result['selections']) == sorted(RULES)
  for rule, split in RULE_SPLITS.items():
    scores = [e['scores'][split]['macro_f1'] for e in history]
    chosen = history[scores.index(max(scores))]  # the first of the best, as WILDS
    assert result['selections'][rule]['step'] == chosen['step']
    assert result['selections'][rule]['score'] == max(scores)
  last = result['selections']['last']
  assert (last['step'], last['epoch'], last['score']) == (ff.FINETUNE_STEPS, 0.4, None)
  selected = result['selections']['ood_val']
  assert result['selection'] == {
      'rule': 'ood_val', 'split': 'val', 'metric': 'macro_f1', 'epoch': selected['epoch'],
      'step': selected['step'], 'every_epochs': ff.EVAL_EVERY_EPOCHS, 'predictions': '.',
      'num_evaluations': 3}
  for role in ('id', 'ood'):
    assert selected['metrics'][role] == {
        k: result['metrics'][role][k] for k in ('split', 'macro_f1', 'accuracy', 'num_examples')}
  assert result['skipped_eval_images'] == {}


def test_every_rule_keeps_its_models_predictions_and_nothing_else(finetune_dir):
  result = _result(finetune_dir)
  kept = set()
  for entry in result['selections'].values():
    model_dir = finetune_dir / entry['predictions']
    assert (entry['predictions'] == '.') == (entry['step'] == result['selection']['step'])
    kept.add(model_dir.resolve())
    for role in ('id', 'ood'):
      _check_scores(entry['metrics'][role], model_dir)
  candidates = {p.resolve() for p in (finetune_dir / 'selection').glob('step_*')}
  assert candidates == kept - {finetune_dir.resolve()}
