"""`synthetic_wildcam`: a generated camera-trap benchmark with iWildCam-WILDS' schema and splits.

`train`, `id_val`, `id_test` come from the training cameras; `val` and `test` each
from their own cameras, never seen in training. Label 0 is an empty frame. Images are
JPEG, like iWildCam's, so fine-tuning sees the same kind of compression; noisy camera
frames are also several times smaller as JPEG than as PNG.
"""
import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from jaxrobust.data import synthetic
from jaxrobust.data.builders import ArrayRecordBuilder, encode_image


@dataclasses.dataclass(eq=False)
class SyntheticWildcamConfig(tfds.core.BuilderConfig):
  """Every knob of one synthetic camera-trap benchmark."""
  num_classes: int = 10            # animal classes (labels 1..num_classes; 0 = empty)
  image_size: int = 48
  train_size: int = 3000
  id_val_size: int = 300
  id_test_size: int = 500
  val_size: int = 500
  test_size: int = 500
  train_locations: int = 30        # cameras of train / id_val / id_test
  val_locations: int = 8           # unseen cameras of `val`
  test_locations: int = 10         # unseen cameras of `test`
  shift_strength: float = 1.0      # 0: OOD cameras drawn like training ones; 1: displaced
  class_tail: float = 1.0          # Zipf exponent of global class frequencies
  max_sequence_length: int = 3
  seed: int = 0
  jpeg_quality: int = 90

  def world_settings(self) -> synthetic.WorldSettings:
    """The generator settings of this config."""
    return synthetic.WorldSettings(
        num_classes=self.num_classes, image_size=self.image_size,
        split_sizes={s: getattr(self, f'{s}_size') for s in synthetic.SPLITS},
        train_locations=self.train_locations, val_locations=self.val_locations,
        test_locations=self.test_locations, shift_strength=self.shift_strength,
        class_tail=self.class_tail, max_sequence_length=self.max_sequence_length,
        seed=self.seed)


CONFIGS = (
    SyntheticWildcamConfig(name='small', description='Offline fine-tuning: 4,800 images at 48 px.'),
    SyntheticWildcamConfig(name='tiny', num_classes=6, image_size=32, train_size=240,
                           id_val_size=40, id_test_size=60, val_size=60, test_size=60,
                           train_locations=8, val_locations=3, test_locations=3,
                           description='Tests: 460 images at 32 px.'),
    SyntheticWildcamConfig(name='medium', num_classes=12, image_size=64, train_size=20_000,
                           id_val_size=2000, id_test_size=3000, val_size=3000, test_size=3000,
                           train_locations=60, val_locations=15, test_locations=20,
                           description='Larger offline benchmark: 31,000 images at 64 px.'),
)


class SyntheticWildcam(ArrayRecordBuilder):
  """Animal-like classes over camera-specific scenes; OOD = unseen cameras."""

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'First release.'}
  BUILDER_CONFIGS = list(CONFIGS)
  DEFAULT_CONFIG_NAME = 'small'

  def _info(self) -> tfds.core.DatasetInfo:
    config = self.builder_config
    names = ['empty'] + [f'animal_{i:02d}' for i in range(1, config.num_classes + 1)]
    return tfds.core.DatasetInfo(
        builder=self,
        description=__doc__,
        features=tfds.features.FeaturesDict({
            'image': tfds.features.Image(shape=(config.image_size, config.image_size, 3),
                                         encoding_format='jpeg'),
            'label': tfds.features.ClassLabel(names=names),
            'location': tfds.features.Scalar(dtype=np.int32),
            'sequence': tfds.features.Scalar(dtype=np.int32),
            'datetime': tfds.features.Text(),
        }),
        supervised_keys=('image', 'label'),
        metadata=tfds.core.MetadataDict(),
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # generated, nothing to download
    world = synthetic.build_world(self.builder_config.world_settings())
    self.info.metadata['split_locations'] = {
        s: list(ids) for s, ids in world.split_locations.items()}
    return {split: self._generate_examples(world, split) for split in synthetic.SPLITS}

  def _generate_examples(self, world: synthetic.World, split: str):
    quality = self.builder_config.jpeg_quality
    for frame in synthetic.plan_split(world, split):
      image = synthetic.render_frame(world, frame)
      yield f'{frame.sequence}_{frame.index_in_sequence}', {
          'image': encode_image(image, 'jpeg', quality), 'label': frame.label,
          'location': frame.location, 'sequence': frame.sequence,
          'datetime': frame.datetime}
