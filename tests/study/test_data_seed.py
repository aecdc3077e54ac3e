"""`data_seed` re-seeds every generated dataset of a study, and is part of run identity."""
import pytest

from jaxrobust.datasets import generated
from jaxrobust.study import plan_study

from tests.helpers.configs import load_config


def test_reseeded_sets_the_seed_of_generated_datasets_only():
  assert generated.reseeded('synthetic_wildcam/small', 3) == 'synthetic_wildcam/small/seed=3'
  assert (generated.reseeded('synthetic_nature/small/num_instances=5,seed=1', 2)
          == 'synthetic_nature/small/num_instances=5,seed=2')
  assert generated.reseeded('iwildcam/448', 3) == 'iwildcam/448'
  assert generated.reseeded('synthetic_wildcam/small', 0) == 'synthetic_wildcam/small'
  with pytest.raises(ValueError, match='builder config'):
    generated.reseeded('fractaldb', 1)


def test_another_data_seed_reseeds_every_dataset_and_changes_every_run_id(tmp_path):
  config = load_config('quickstart', 'test')
  config.data_dir = str(tmp_path / 'data')
  default = plan_study(config, str(tmp_path))
  config.data_seed = 4
  seeded = plan_study(config, str(tmp_path))
  assert all(r.dataset.endswith('seed=4') for r in seeded if r.subset is None)
  assert all(s['name'].endswith('seed=4') for r in seeded if r.subset
             for s in r.subset['sources'])
  assert not {r.run_id for r in default} & {r.run_id for r in seeded}
  assert not any('seed=' in r.dataset for r in default)
