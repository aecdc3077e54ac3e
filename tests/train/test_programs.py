"""Runs of one recipe share their jitted programs, and get the numbers they would get alone."""
import numpy as np
import pytest

from jaxrobust.study import stages
from jaxrobust.train import loop
from jaxrobust.train import mesh as mesh_lib
from jaxrobust.train import programs
from jaxrobust.train import step
from jaxrobust.train.engine_cache import EngineCache

from tests.helpers.engine import tiny_config, train_losses


def _programs(cache: programs.ProgramCache, config, num_steps: int = 24) -> programs.Programs:
  model_def, params, _ = step.split_model(loop.init_model(config, num_classes=4),
                                          frozen_backbone=config.init.mode == 'linear_probe')
  return cache.for_run(model_def, config, num_steps, params, mesh_lib.make_mesh(), np.float32)


def test_seeds_share_programs_other_recipes_and_lengths_of_a_cosine_schedule_do_not(data_dir):
  cache = programs.ProgramCache()
  first = _programs(cache, tiny_config(data_dir, seed=0))
  assert _programs(cache, tiny_config(data_dir, seed=1)) is first
  assert _programs(cache, tiny_config(data_dir, **{'optimizer.learning_rate': 0.5})) is not first
  assert _programs(cache, tiny_config(data_dir), num_steps=30) is not first  # schedule length
  assert _programs(cache, tiny_config(data_dir, **{'init.mode': 'linear_probe'})) is not first
  constant = {'optimizer.schedule': 'constant'}
  assert (_programs(cache, tiny_config(data_dir, **constant), num_steps=30)
          is _programs(cache, tiny_config(data_dir, **constant)))
  assert _programs(programs.ProgramCache(), tiny_config(data_dir, seed=0)) is not first


@pytest.mark.slow
def test_a_run_on_shared_programs_trains_exactly_as_alone(data_dir, tmp_path):
  short = {'num_train_steps': 6, 'checkpoint_every_steps': 6}
  other = {**short, 'seed': 1, 'optimizer.learning_rate': 0.02}
  cache = EngineCache()
  stages.execute_single(tiny_config(data_dir, **short), tmp_path / 'first', cache)
  shared = stages.execute_single(tiny_config(data_dir, **{**short, 'seed': 1}),
                                 tmp_path / 'shared', cache)
  after_other_recipe = stages.execute_single(tiny_config(data_dir, **other), tmp_path / 'other',
                                             cache)
  alone = stages.execute_single(tiny_config(data_dir, **{**short, 'seed': 1}), tmp_path / 'alone')
  other_alone = stages.execute_single(tiny_config(data_dir, **other), tmp_path / 'other_alone')
  for a, b in ((shared, alone), (after_other_recipe, other_alone)):
    assert train_losses(a.run_dir) == train_losses(b.run_dir)
    for split, outputs in a.outputs.items():
      np.testing.assert_array_equal(outputs['predictions'], b.outputs[split]['predictions'])
  assert train_losses(shared.run_dir) != train_losses(after_other_recipe.run_dir)
