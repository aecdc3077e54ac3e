"""Runs of one recipe share their jitted programs, and get the numbers they would get alone."""
import collections

import numpy as np
import pytest

from jaxrobust.train import loop
from jaxrobust.train import mesh as mesh_lib
from jaxrobust.train import programs
from jaxrobust.train import step

from tests.helpers.engine import tiny_config, train_losses


@pytest.fixture(autouse=True)
def nothing_shared(monkeypatch):
  monkeypatch.setattr(programs, '_SHARED', collections.OrderedDict())


def _programs(config, num_steps: int = 24) -> programs.Programs:
  model_def, params, _ = step.split_model(loop.build_model(config, num_classes=4),
                                          frozen_backbone=config.init.mode == 'linear_probe')
  return programs.for_run(model_def, config, num_steps, params, mesh_lib.make_mesh(),
                          np.float32)


def test_seeds_share_programs_other_recipes_and_lengths_of_a_cosine_schedule_do_not(data_dir):
  first = _programs(tiny_config(data_dir, seed=0))
  assert _programs(tiny_config(data_dir, seed=1)) is first
  assert _programs(tiny_config(data_dir, **{'optimizer.learning_rate': 0.5})) is not first
  assert _programs(tiny_config(data_dir), num_steps=30) is not first  # the schedule's length
  assert _programs(tiny_config(data_dir, **{'init.mode': 'linear_probe'})) is not first
  constant = {'optimizer.schedule': 'constant'}
  assert (_programs(tiny_config(data_dir, **constant), num_steps=30)
          is _programs(tiny_config(data_dir, **constant)))


def test_a_run_on_shared_programs_trains_exactly_as_alone(data_dir, tmp_path, monkeypatch):
  short = {'num_train_steps': 6, 'checkpoint_every_steps': 6}
  other = {**short, 'seed': 1, 'optimizer.learning_rate': 0.02}
  loop.run_single(tiny_config(data_dir, **short), tmp_path / 'first')
  shared = loop.run_single(tiny_config(data_dir, **{**short, 'seed': 1}), tmp_path / 'shared')
  after_other_recipe = loop.run_single(tiny_config(data_dir, **other), tmp_path / 'other')
  monkeypatch.setattr(programs, '_SHARED', collections.OrderedDict())
  alone = loop.run_single(tiny_config(data_dir, **{**short, 'seed': 1}), tmp_path / 'alone')
  monkeypatch.setattr(programs, '_SHARED', collections.OrderedDict())
  other_alone = loop.run_single(tiny_config(data_dir, **other), tmp_path / 'other_alone')
  for a, b in ((shared, alone), (after_other_recipe, other_alone)):
    assert train_losses(a['run_dir']) == train_losses(b['run_dir'])
    for split, outputs in a['outputs'].items():
      np.testing.assert_array_equal(outputs['predictions'], b['outputs'][split]['predictions'])
  assert train_losses(shared['run_dir']) != train_losses(after_other_recipe['run_dir'])
