"""Models with dropout train through the same step, reproducibly (RNG from seed and step)."""
from tests.helpers.engine import tiny_config, train_losses
from jaxrobust.train import loop


def test_dropout_model_trains_and_repeats_its_losses(data_dir, tmp_path):
  config = tiny_config(data_dir, **{'model.name': 'mobilenet_v3_small', 'data.image_size': 32,
                                    'num_train_steps': 3})
  first = loop.train_and_evaluate(config, tmp_path / 'first')
  loop.train_and_evaluate(config, tmp_path / 'second')
  assert first['scores']['test']['num_examples'] == 37
  assert train_losses(tmp_path / 'first') == train_losses(tmp_path / 'second')
