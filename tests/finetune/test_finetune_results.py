"""A fine-tune from a 5-class pre-training onto 7-class camera traps writes results as specified."""
import json

import numpy as np
import pytest
from sklearn.metrics import f1_score

from jaxrobust import runs

from tests.helpers import finetune as ff

EVAL_SPLITS = ff.EVAL_SPLITS
EPOCH_POINT = 'epoch_0.2'  # the evaluation after step 3 of 15 per epoch


def _result(model_dir) -> dict:
  return json.loads((model_dir / 'result.json').read_text())


def _predictions(model_dir, split) -> dict[str, np.ndarray]:
  with np.load(model_dir / f'predictions_{split}.npz') as npz:
    return dict(npz)


def _model_dirs(finetune_dir):
  return {'final': finetune_dir, EPOCH_POINT: finetune_dir / EPOCH_POINT}


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
      'diversity_ratio': None, 'semantics': None, 'arch': 'resnet_tiny', 'seed': 0,
      'steps': ff.PRETRAIN_STEPS}
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


@pytest.mark.parametrize('model', ['final', EPOCH_POINT])
def test_scores_recompute_exactly_from_the_predictions(finetune_dir, model):
  model_dir = _model_dirs(finetune_dir)[model]
  result = _result(model_dir)
  for entry in (result['metrics']['id'], result['metrics']['ood']):
    p = _predictions(model_dir, entry['split'])
    labels, predictions = p['labels'], p['predictions']
    assert entry['macro_f1'] == f1_score(labels, predictions, average='macro',
                                         labels=np.unique(labels), zero_division=0)
    assert entry['accuracy'] == np.mean(labels == predictions)
    assert entry['num_examples'] == labels.size
    assert entry['classes'] == np.unique(labels).tolist()
    np.testing.assert_allclose(
        entry['per_class_f1'], f1_score(labels, predictions, average=None,
                                        labels=np.unique(labels), zero_division=0),
        rtol=0, atol=0)
  for split, scores in result['metrics']['splits'].items():
    p = _predictions(model_dir, split)
    assert scores['accuracy'] == np.mean(p['labels'] == p['predictions'])


def test_scores_cover_only_the_classes_each_split_contains(data_dir, finetune_dir):
  for entry in _result(finetune_dir)['metrics'].values():
    if 'classes' in entry:
      labels = ff.wildcam_labels(data_dir, entry['split'])
      assert entry['classes'] == np.unique(labels).tolist()
      assert len(entry['per_class_f1']) == len(entry['classes'])


def test_each_epoch_evaluation_is_one_more_model_point(finetune_dir):
  point = _result(finetune_dir / EPOCH_POINT)
  assert point['run_id'] == f'{finetune_dir.name}/{EPOCH_POINT}'
  assert point['finetune']['epochs'] == 0.2 and point['finetune']['steps'] == 3
  assert point['pretrain'] == _result(finetune_dir)['pretrain']
  for split in EVAL_SPLITS:
    assert (finetune_dir / EPOCH_POINT / f'predictions_{split}.npz').exists()
  assert [p.name for p in finetune_dir.glob('epoch_*')] == [EPOCH_POINT]  # final = the run
