"""ImageNet-1k through TFDS's own `imagenet2012` builder, in array_record.

Not a new builder: `imagenet_builder` returns TFDS's `imagenet2012`, reusing an existing
prepared TFDS dir when there is one, else building it from the ILSVRC2012 tars in the
manual dir, with one clear message when they are missing. Its `label` order is the wnid
order of `jaxrobust/datasets/wordnet/imagenet2012_wnids.txt`, which the committed WordNet
hierarchy table (`load_hierarchy('imagenet2012')`) follows.
"""
from __future__ import annotations

import os
import pathlib

import tensorflow_datasets as tfds
from tensorflow_datasets.core import file_adapters

from jaxrobust.datasets import archives

NAME = 'imagenet2012'
MANUAL_FILES = ('ILSVRC2012_img_train.tar', 'ILSVRC2012_img_val.tar')
SOURCE = 'https://image-net.org/download-images (free registration; ILSVRC2012 files)'


def default_manual_dir(data_dir: str | os.PathLike[str] | None) -> pathlib.Path:
  """TFDS's manual dir when none is given: `<data_dir>/downloads/manual`."""
  root = data_dir or tfds.core.constants.DATA_DIR
  return pathlib.Path(os.path.expanduser(str(root))) / 'downloads' / 'manual'


MANUAL = archives.ManualFiles(NAME, [(name,) for name in MANUAL_FILES], SOURCE)


def require_imagenet_tars(manual_dir: str | os.PathLike[str]) -> list[pathlib.Path]:
  """The two ILSVRC2012 tars in `manual_dir`; raises MissingManualFileError naming them."""
  return MANUAL.require(manual_dir)


def imagenet_builder(data_dir: str | os.PathLike[str] | None = None,
                     manual_dir: str | os.PathLike[str] | None = None
                     ) -> tfds.core.DatasetBuilder:
  """TFDS `imagenet2012` in `data_dir`, prepared (array_record) from the tars if needed."""
  data_dir = None if data_dir is None else os.fspath(data_dir)
  builder = tfds.builder(NAME, data_dir=data_dir, file_format='array_record')
  if builder.is_prepared():
    formats = builder.info.available_file_formats()
    if file_adapters.FileFormat.ARRAY_RECORD not in formats:
      raise ValueError(
          f'{NAME} in {builder.data_dir} is stored as {sorted(f.value for f in formats)}, '
          'but jaxrobust reads array_record: run `tfds convert_format --dataset_version_dir='
          f'{builder.data_dir} --out_file_format=array_record` or rebuild it elsewhere.')
    return builder
  manual_dir = pathlib.Path(manual_dir) if manual_dir else default_manual_dir(data_dir)
  require_imagenet_tars(manual_dir)
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir=os.fspath(manual_dir)))
  return builder
