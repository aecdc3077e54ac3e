"""Fixtures of the analysis tests: a small study workdir (see analysis_fixtures.py)."""
import pytest

from analysis_fixtures import write_study


@pytest.fixture
def study_dir(tmp_path):
  """A fixture study workdir (no results.csv yet)."""
  return write_study(tmp_path / 'study')
