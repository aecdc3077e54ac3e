"""Fixture study workdirs in the real on-disk format: runs/<id>/result.json + predictions npz."""
import json
import pathlib

import numpy as np
from sklearn.metrics import f1_score

from jaxrobust.analysis import simulate
from jaxrobust.analysis import transforms

NUM_CLASSES = 10
NUM_EXAMPLES = 600


def scores(labels, predictions) -> dict:
  """A result.json metrics entry, computed with sklearn (independent of the code under test)."""
  return {'macro_f1': float(f1_score(labels, predictions, average='macro',
                                     labels=np.unique(labels), zero_division=0)),
          'accuracy': float(np.mean(labels == predictions)),
          'num_examples': int(labels.size)}


def write_run(workdir, run_id, kind, id_arrays, ood_arrays, pretrain=None, seed=0,
              write_predictions=True, **overrides) -> dict:
  """Writes runs/<run_id>/result.json (+ predictions_{id_test,test}.npz); returns the result."""
  run_dir = pathlib.Path(workdir) / 'runs' / run_id
  run_dir.mkdir(parents=True, exist_ok=True)
  result = {
      'run_id': run_id, 'study': 'fixture', 'kind': kind, 'pretrain': pretrain,
      'finetune': {'dataset': 'synthetic_wildcam', 'lr': 0.01, 'epochs': 2, 'batch_size': 32,
                   'seed': seed, 'resolution': 64},
      'metrics': {'id': {'split': 'id_test', **scores(*id_arrays)},
                  'ood': {'split': 'test', **scores(*ood_arrays)}},
      'config_hash': f'hash-{run_id}', 'wall_seconds': 12.5,
  }
  result.update(overrides)
  (run_dir / 'result.json').write_text(json.dumps(result))
  if write_predictions:
    for split, (labels, predictions) in (('id_test', id_arrays), ('test', ood_arrays)):
      np.savez(run_dir / f'predictions_{split}.npz', labels=labels, predictions=predictions)
  return result


def pretrain_setting(num_examples, seed=0) -> dict:
  return {'source': 'fractaldb', 'num_examples': num_examples, 'num_classes': 100,
          'label_level': 'label', 'images_per_class': num_examples // 100,
          'diversity_ratio': 1.0, 'semantics': 'all', 'arch': 'resnet18', 'seed': seed,
          'steps': 100}


def test_set(rng, score, metric='macro_f1', num_examples=NUM_EXAMPLES):
  """(labels, predictions) of `num_examples` whose population metric is `score`."""
  priors = simulate.zipf_priors(NUM_CLASSES)
  return simulate.sample_predictions(rng, num_examples, priors,
                                     simulate.correct_rate_for(score, priors, metric))


def write_study(workdir, seed=0, slope=1.1, intercept=-0.6, shifts=((25_000, 0.0),
                                                                   (1_000_000, 6.0))):
  """6 scratch runs on the logit line and 3 fine-tuned runs per pre-training quantity."""
  rng = np.random.default_rng(seed)
  logit = transforms.get_transform('logit')
  def on_line(x, shift=0.0):
    return float(logit.inverse(slope * logit(x) + intercept)) + shift / 100
  for i, id_score in enumerate(np.linspace(0.3, 0.75, 6)):
    write_run(workdir, f'scratch_{i}', 'scratch', test_set(rng, id_score),
              test_set(rng, on_line(id_score)), seed=i)
  for num_examples, shift in shifts:
    for s, id_score in enumerate((0.5, 0.6, 0.7)):
      write_run(workdir, f'ft_{num_examples}_{s}', 'finetune', test_set(rng, id_score),
                test_set(rng, on_line(id_score, shift)),
                pretrain=pretrain_setting(num_examples, seed=s), seed=s)
  return pathlib.Path(workdir)
