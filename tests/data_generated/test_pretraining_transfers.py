"""The offline world's premise: pre-training on synthetic_nature teaches features of the
camera-trap benchmark's animals. A linear probe (frozen backbone, new head) on a backbone
pre-trained there separates the benchmark's classes better than one on a random backbone.
"""
import pytest
import json
import pathlib

from jaxrobust.study import stages

from tests.helpers.configs import load_config

# 12 species x 40 photos; its 6 animal species are synthetic_wildcam/tiny's classes.
NATURE = 'synthetic_nature/tiny/num_instances=40'
BENCHMARK = 'synthetic_wildcam/tiny/train_size=600,id_test_size=300'


def _probe(tmp_path: pathlib.Path, name: str, model_init: str | None) -> float:
  # A random backbone is a 'scratch' run: there is nothing to fine-tune from.
  config = load_config('finetune', 'local,lr=1e-2,epochs=5' + (',scratch' if model_init is None
                                                               else ''))
  config.update_from_flattened_dict({
      'name': name, 'data.name': BENCHMARK, 'data.data_dir': str(tmp_path / 'tfds'),
      'init.mode': 'linear_probe',
      'init.model_init': model_init, 'log_every_steps': 1000})
  run_dir = pathlib.Path(stages.execute_single(config, tmp_path).run_dir)
  return json.loads((run_dir / 'result.json').read_text())['metrics']['id']['macro_f1']


@pytest.mark.slow
def test_a_probe_on_the_pretrained_backbone_beats_a_probe_on_a_random_one(tmp_path):
  pretrain = load_config('train', 'tiny')
  pretrain.update_from_flattened_dict({
      'data.name': NATURE, 'data.data_dir': str(tmp_path / 'tfds'), 'data.eval_splits': (),
      'data.augment_flip': True, 'num_train_steps': 200, 'checkpoint_every_steps': 200})
  pretrained = str(stages.execute_single(pretrain, tmp_path).run_dir)
  pretrained_f1 = _probe(tmp_path, 'probe_pretrained', pretrained)
  random_f1 = _probe(tmp_path, 'probe_random', None)
  print(f'linear probe macro-F1 on id_test: pretrained {pretrained_f1:.3f}, '
        f'random {random_f1:.3f}')
  assert pretrained_f1 > random_f1 + 0.1
