"""Generated datasets, each built once per test session in a temporary data dir."""
import pytest
import tensorflow_datasets as tfds

import jaxrobust.datasets  # noqa: F401  (registers the builders)


def build(name: str, data_dir) -> tfds.core.DatasetBuilder:
  """Builds TFDS dataset `name` in `data_dir` and returns its builder."""
  builder = tfds.builder(name, data_dir=str(data_dir))
  builder.download_and_prepare()
  return builder


@pytest.fixture(scope='session')
def build_dataset():
  """build_dataset(name, data_dir): prepares a TFDS dataset and returns its builder."""
  return build


@pytest.fixture(scope='session')
def fractaldb_tiny(tmp_path_factory):
  return build('fractaldb/tiny', tmp_path_factory.mktemp('fractaldb'))


@pytest.fixture(scope='session')
def wildcam_tiny(tmp_path_factory):
  return build('synthetic_wildcam/tiny', tmp_path_factory.mktemp('wildcam'))


@pytest.fixture(scope='session')
def hierarchy_tiny(tmp_path_factory):
  return build('fractal_hierarchy/tiny', tmp_path_factory.mktemp('hierarchy'))


def _records(builder: tfds.core.DatasetBuilder, split: str) -> list[dict]:
  source = builder.as_data_source(split=split)
  return [source[i] for i in range(len(source))]


@pytest.fixture(scope='session')
def records():
  """records(builder, split): every decoded example of a split, via the data source."""
  return _records


@pytest.fixture(scope='session')
def nature_tiny(tmp_path_factory):
  return build('synthetic_nature/tiny', tmp_path_factory.mktemp('nature'))
