"""Run identity: the config hash ignores where and how fast a run goes, not what it computes."""
from tests.helpers.engine import tiny_config
from jaxrobust import runs


def test_config_hash_ignores_data_dir_workers_logging_cadence_and_resources(tmp_path):
  base = tiny_config(tmp_path / 'a')
  moved = tiny_config(tmp_path / 'b', **{'data.num_workers': 4, 'log_every_steps': 7,
                                          'checkpoint_every_steps': 3, 'resources.gpus': 2.0,
                                          'resources.cpus': 8.0, 'resources.tpus': 4})
  assert runs.config_hash(base) == runs.config_hash(moved)


def test_config_hash_changes_with_a_result_changing_field(tmp_path):
  base = tiny_config(tmp_path)
  assert runs.config_hash(base) != runs.config_hash(
      tiny_config(tmp_path, **{'optimizer.learning_rate': 0.05}))
  assert runs.config_hash(base) != runs.config_hash(tiny_config(tmp_path, seed=1))


def test_run_id_is_name_and_hash_prefix(tmp_path):
  config = tiny_config(tmp_path)
  assert runs.run_id('tiny', config) == f'tiny-{runs.config_hash(config)[:8]}'


def test_config_json_round_trip_keeps_the_hash(tmp_path):
  config = tiny_config(tmp_path)
  runs.write_config(config, tmp_path / 'config.json')
  assert runs.config_hash(runs.read_config(tmp_path / 'config.json')) == runs.config_hash(config)
