"""Models with dropout train through the same step, reproducibly (RNG from seed and step)."""
import pytest
from tests.helpers.engine import tiny_config, train_losses
from jaxrobust.train import loop

# AlexNet's classifier has dropout 0.5 (as mobilenet_v3's has 0.2); with the small stem at a
# quarter width it compiles in a fraction of mobilenet_v3_small's time.
DROPOUT_MODEL = {'model.name': 'alexnet', 'model.stem': 'small', 'model.width': 0.25,
                 'num_train_steps': 3}


@pytest.mark.slow
def test_dropout_model_trains_and_repeats_its_losses(data_dir, tmp_path):
  config = tiny_config(data_dir, **DROPOUT_MODEL)
  first = loop.train_and_evaluate(config, tmp_path / 'first')
  loop.train_and_evaluate(config, tmp_path / 'second')
  assert first.scores['test']['num_examples'] == 37
  assert train_losses(tmp_path / 'first') == train_losses(tmp_path / 'second')
