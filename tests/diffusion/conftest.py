"""A tiny text-to-image dataset generated once per module with a random tiny pipeline, offline."""
import os

os.environ['HF_HUB_OFFLINE'] = '1'  # proves that nothing is fetched from a hub

import pytest  # pylint: disable=wrong-import-position
import tensorflow_datasets as tfds  # pylint: disable=wrong-import-position
import torch  # pylint: disable=wrong-import-position

import jaxrobust.datasets  # noqa: F401,E402  (registers the builders)

torch.set_num_threads(1)
TINY = 'diffusion_imagenet/tiny'


@pytest.fixture(scope='package')
def tiny_dataset(tmp_path_factory) -> tfds.core.DatasetBuilder:
  """diffusion_imagenet/tiny (3 classes x 4 at 32 px), its random pipeline made on the spot."""
  builder = tfds.builder(TINY, data_dir=str(tmp_path_factory.mktemp('diffusion')))
  builder.download_and_prepare()
  return builder


@pytest.fixture(scope='package')
def tiny_pipeline_dir(tiny_dataset) -> str:
  """The random tiny pipeline folder the fixture dataset was generated with."""
  return str(tiny_dataset.pipeline_path())


def raw_images(builder: tfds.core.DatasetBuilder, split: str = 'train') -> dict[str, bytes]:
  """'<fine>_<instance>' -> encoded image bytes of every record of `split`."""
  source = builder.as_data_source(split=split, decoders={'image': tfds.decode.SkipDecoding()})
  rows = [source[i] for i in range(len(source))]
  keys = [f'{int(r["label"])}_{int(r["instance"])}' for r in rows]
  assert len(set(keys)) == len(keys), 'duplicate images'
  return {k: bytes(r['image']) for k, r in zip(keys, rows)}
