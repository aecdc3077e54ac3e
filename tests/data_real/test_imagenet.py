"""ImageNet-1k through TFDS's own `imagenet2012`, from ILSVRC2012 tars in the manual dir."""
import io
import pathlib
import tarfile

import pytest
import tensorflow_datasets as tfds

from jaxrobust.datasets import archives
from jaxrobust.datasets.builders import imagenet
from jaxrobust.datasets.wordnet import derive_imagenet_hierarchy as derive
from tests.helpers.real_formats import add_tar_bytes, jpeg

TRAIN_CLASSES = {'n01440764': 2, 'n15075141': 1}  # tench, toilet tissue
NUM_VAL = 3


def write_ilsvrc_tars(manual: pathlib.Path) -> None:
  """ILSVRC2012_img_train.tar (one inner tar per wnid) and ILSVRC2012_img_val.tar."""
  manual.mkdir(parents=True)
  with tarfile.open(manual / 'ILSVRC2012_img_train.tar', 'w') as train:
    for wnid, count in TRAIN_CLASSES.items():
      inner = io.BytesIO()
      with tarfile.open(fileobj=inner, mode='w') as class_tar:
        for i in range(count):
          add_tar_bytes(class_tar, f'{wnid}_{i + 1}.JPEG', jpeg(50, 40))
      add_tar_bytes(train, f'{wnid}.tar', inner.getvalue())
  with tarfile.open(manual / 'ILSVRC2012_img_val.tar', 'w') as val:
    for i in range(NUM_VAL):
      add_tar_bytes(val, f'ILSVRC2012_val_{i + 1:08d}.JPEG', jpeg(30, 20))


def test_missing_ilsvrc_tars_give_one_message_naming_both_and_the_source(tmp_path):
  with pytest.raises(archives.MissingManualFileError) as info:
    imagenet.imagenet_builder(tmp_path / 'data', tmp_path / 'manual')
  message = str(info.value)
  assert 'ILSVRC2012_img_train.tar; ILSVRC2012_img_val.tar' in message
  assert str(tmp_path / 'manual') in message and 'image-net.org' in message


def test_builder_prepares_array_record_from_the_tars_then_reuses_the_tfds_dir(tmp_path):
  write_ilsvrc_tars(tmp_path / 'manual')
  builder = imagenet.imagenet_builder(tmp_path / 'data', tmp_path / 'manual')
  assert builder.info.file_format.value == 'array_record'
  assert builder.info.splits['train'].num_examples == 3
  wnids = derive.read_wnids()
  train = tfds.data_source('imagenet2012', data_dir=str(tmp_path / 'data'), split='train')
  labels = sorted(wnids[int(train[i]['label'])] for i in range(len(train)))
  assert labels == ['n01440764', 'n01440764', 'n15075141']
  val_labels = pathlib.Path(tfds.core.tfds_path(
      'datasets/imagenet2012/validation_labels.txt')).read_text().split()[:NUM_VAL]
  val = tfds.data_source('imagenet2012', data_dir=str(tmp_path / 'data'), split='validation')
  assert sorted(wnids[int(val[i]['label'])] for i in range(NUM_VAL)) == sorted(val_labels)
  assert val[0]['image'].shape == (20, 30, 3)
  # Prepared once: later calls read the existing TFDS dir and need no manual files.
  assert imagenet.imagenet_builder(tmp_path / 'data', tmp_path / 'nowhere').is_prepared()
