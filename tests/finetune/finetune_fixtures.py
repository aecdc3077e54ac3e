"""Fine-tune test fixtures: two tiny TFDS datasets (array_record) and the run configs.

`ft_pretrain_images`: 5 classes, 16 px PNG, the pre-training source.
`ft_wildcam`: the iWildCam-WILDS schema (image JPEG, label, location, sequence, datetime;
splits train / id_val / id_test from seen cameras, val / test from unseen ones) with 3
classes; no split size is a multiple of the eval batch, and `test` lacks class 2.
"""
import importlib.util
import io
import pathlib

import jax
import ml_collections
import numpy as np
from PIL import Image
import tensorflow_datasets as tfds

from jaxrobust.train import checkpoint
from jaxrobust.train import handoff
from jaxrobust.train import optim

REPO = pathlib.Path(__file__).resolve().parents[2]
IMAGE_SIZE = 16
PRETRAIN_CLASSES = 5
PRETRAIN_SIZES = {'train': 80}
WILDCAM_CLASSES = 3
# split -> (number of examples, camera ids, classes present)
WILDCAM_SPLITS = {
    'train': (48, (0, 1, 2), (0, 1, 2)),
    'id_val': (13, (0, 1, 2), (0, 1, 2)),
    'id_test': (21, (0, 1, 2), (0, 1, 2)),
    'val': (11, (3,), (0, 1, 2)),
    'test': (19, (4, 5), (0, 1)),
}
PRETRAIN_STEPS = 6
FINETUNE_EPOCHS = 2


def _encode(image: np.ndarray, image_format: str) -> bytes:
  buffer = io.BytesIO()
  Image.fromarray(image).save(buffer, format=image_format, quality=95)
  return buffer.getvalue()


def _render(label: int, tint: int, rng: np.random.Generator) -> np.ndarray:
  """Noise tinted by the camera, with a bright square whose position is the class."""
  image = rng.integers(0, 60, (IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
  image[..., tint % 3] += np.uint8(40 + 10 * tint)
  row, col = divmod(label % 4, 2)
  half = IMAGE_SIZE // 2
  image[row * half:(row + 1) * half, col * half:(col + 1) * half, label % 3] = 250
  if label >= 4:
    image[half - 3:half + 3, half - 3:half + 3] = 255
  return image


class FtPretrainImages(tfds.core.GeneratorBasedBuilder):
  """Five-class toy images to pre-train on."""

  VERSION = tfds.core.Version('1.0.0')

  def _info(self) -> tfds.core.DatasetInfo:
    return tfds.core.DatasetInfo(
        builder=self,
        features=tfds.features.FeaturesDict({
            'image': tfds.features.Image(shape=(None, None, 3), encoding_format='png'),
            'label': tfds.features.ClassLabel(num_classes=PRETRAIN_CLASSES)}))

  def _split_generators(self, dl_manager):
    del dl_manager
    return {split: self._generate_examples(size) for split, size in PRETRAIN_SIZES.items()}

  def _generate_examples(self, size: int):
    rng = np.random.default_rng(0)
    for i in range(size):
      label = i % PRETRAIN_CLASSES
      yield i, {'image': _encode(_render(label, 0, rng), 'PNG'), 'label': label}


def _generated_labels(split: str) -> np.ndarray:
  size, _, classes = WILDCAM_SPLITS[split]
  return np.asarray([classes[i % len(classes)] for i in range(size)])


def wildcam_labels(data_dir, split: str) -> np.ndarray:
  """The labels of `split` in the order the prepared dataset stores them (TFDS shuffles)."""
  source = tfds.builder('ft_wildcam', data_dir=str(data_dir)).as_data_source(
      split=split, decoders={'image': tfds.decode.SkipDecoding()})
  return np.asarray([source[i]['label'] for i in range(len(source))])


class FtWildcam(tfds.core.GeneratorBasedBuilder):
  """A tiny camera-trap dataset with the iWildCam-WILDS schema and splits."""

  VERSION = tfds.core.Version('1.0.0')

  def _info(self) -> tfds.core.DatasetInfo:
    return tfds.core.DatasetInfo(
        builder=self,
        features=tfds.features.FeaturesDict({
            'image': tfds.features.Image(shape=(IMAGE_SIZE, IMAGE_SIZE, 3),
                                         encoding_format='jpeg'),
            'label': tfds.features.ClassLabel(num_classes=WILDCAM_CLASSES),
            'location': tfds.features.Scalar(dtype=np.int32),
            'sequence': tfds.features.Scalar(dtype=np.int32),
            'datetime': tfds.features.Text()}))

  def _split_generators(self, dl_manager):
    del dl_manager
    return {split: self._generate_examples(split) for split in WILDCAM_SPLITS}

  def _generate_examples(self, split: str):
    size, cameras, _ = WILDCAM_SPLITS[split]
    rng = np.random.default_rng(list(WILDCAM_SPLITS).index(split))
    for i, label in enumerate(_generated_labels(split)):
      camera = cameras[i % len(cameras)]
      yield i, {'image': _encode(_render(int(label), camera, rng), 'JPEG'),
                'label': int(label), 'location': camera, 'sequence': i // 2,
                'datetime': f'2020-01-01 00:{i % 60:02d}:00'}


def build_datasets(data_dir: str) -> None:
  """Builds both datasets into `data_dir`."""
  for builder in (FtPretrainImages, FtWildcam):
    builder(data_dir=data_dir, file_format='array_record').download_and_prepare()


def config_file(name: str, arg: str | None) -> ml_collections.ConfigDict:
  """configs/<name>.py:get_config(arg)."""
  spec = importlib.util.spec_from_file_location(f'config_{name}', REPO / 'configs' / f'{name}.py')
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg)


def _with(config: ml_collections.ConfigDict, overrides: dict) -> ml_collections.ConfigDict:
  config.update_from_flattened_dict(overrides)
  return config


def pretrain_config(data_dir) -> ml_collections.ConfigDict:
  """configs/train.py:tiny shrunk to a few steps on `ft_pretrain_images`."""
  return _with(config_file('train', 'tiny'), {
      'name': 'pretrain', 'data.name': 'ft_pretrain_images', 'data.data_dir': str(data_dir),
      'data.image_size': IMAGE_SIZE, 'data.eval_splits': (), 'model.width': 1.0,
      'batch_size': 16, 'num_train_steps': PRETRAIN_STEPS, 'optimizer.warmup_steps': 0,
      'checkpoint_every_steps': 3, 'log_every_steps': 3})


def finetune_config(data_dir, arg: str = 'local', **overrides) -> ml_collections.ConfigDict:
  """configs/finetune.py:<arg> on `ft_wildcam` at 16 px with the pre-trained architecture."""
  return _with(config_file('finetune', arg), {
      'data.name': 'ft_wildcam', 'data.data_dir': str(data_dir), 'data.image_size': IMAGE_SIZE,
      'model.width': 1.0, 'batch_size': 16, 'eval_batch_size': 16,
      'num_epochs': float(FINETUNE_EPOCHS), 'optimizer.learning_rate': 1e-3,
      'checkpoint_every_steps': 3, 'log_every_steps': 3, **overrides})


def flat(tree) -> dict[str, np.ndarray]:
  """{'blocks/0/conv1/conv/kernel': array} of a params or batch_stats tree."""
  return {optim.param_path(p): np.asarray(x)
          for p, x in jax.tree_util.tree_leaves_with_path(tree)}


def checkpoint_arrays(run_dir) -> dict[str, dict[str, np.ndarray]]:
  """{'params': {path: array}, 'batch_stats': {...}} of a run's latest checkpoint."""
  state = checkpoint.restore_state(handoff.find_checkpoint(str(run_dir)).step_dir)
  return {'params': flat(state['params']), 'batch_stats': flat(state['batch_stats'])}
