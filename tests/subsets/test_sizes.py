"""A study with missing manual data says how much it downloads and how much disk it needs."""
from jaxrobust.datasets import sizes
from tests.helpers.configs import load_config
from jaxrobust.study import run_study


def test_known_downloads_are_summed_and_disk_counts_the_prepared_copy():
  note = sizes.space_note(['imagenet2012', 'iwildcam/448', 'inaturalist/2017:1.1.0'])
  assert note.startswith('Downloads: about 342 GB (imagenet2012: 144.6 GB')
  assert 'Disk: about 683 GB' in note


def test_unknown_datasets_are_counted_not_guessed():
  assert sizes.space_note(['fractaldb/1k']) is None
  assert '1 more of unknown size' in sizes.space_note(['iwildcam/448', 'my_own_dataset'])


def test_a_paper_study_dry_run_names_its_download_and_disk(tmp_path, capsys):
  config = load_config('quantity')
  config.data_dir = str(tmp_path / 'data')
  run_study(config, str(tmp_path / 'w'), dry_run=True)
  out = capsys.readouterr().out
  line, = [l for l in out.splitlines() if l.startswith('Downloads: about')]
  assert 'imagenet2012: 144.6 GB' in line and 'iwildcam/448: 11 GB' in line
