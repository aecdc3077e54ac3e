"""`synthetic_wildcam`: a generated camera-trap benchmark with iWildCam-WILDS' schema and splits.

`train`, `id_val`, `id_test` come from the training cameras; `val` and `test` each
from their own cameras, never seen in training. Label 0 is an empty frame. Images are
JPEG, like iWildCam's.

Why the shift hurts, and why pre-training should help (the offline positive control):
- Each camera has a fixed background scene and photometric habits (exposure, tint, blur,
  noise) and sees only `classes_per_location` resident species. At a training camera the
  scene itself therefore predicts the label, and a model trained from scratch on a few
  thousand frames learns that shortcut along with the animals; `id_test` (same cameras)
  rewards it, the unseen cameras of `val`/`test` (new scenes, displaced by
  `shift_strength`) do not.
- The animals are species of the generated fauna that `synthetic_nature` photographs with
  the same seed (as iWildCam's species appear in ImageNet and iNaturalist). A backbone
  pre-trained there has learned to tell species apart by silhouette, coat colour and
  pattern over thousands of unrelated random scenes, so fine-tuning can rely on the animal
  rather than the scene, and the features keep working at unseen cameras. More (and
  finer-labelled) pre-training data gives better such features.
Nothing here looks at a model: the effect can only come from training on these images.
"""
import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from jaxrobust.datasets import synthetic
from jaxrobust.datasets.builders import ArrayRecordBuilder, encode_image


@dataclasses.dataclass(eq=False)
class SyntheticWildcamConfig(tfds.core.BuilderConfig):
  """Every knob of one synthetic camera-trap benchmark."""
  num_classes: int = 8             # animal classes (labels 1..num_classes; 0 = empty)
  image_size: int = 32
  train_size: int = 2400
  id_val_size: int = 400
  id_test_size: int = 800
  val_size: int = 800
  test_size: int = 1000
  train_locations: int = 30        # cameras of train / id_val / id_test
  val_locations: int = 12          # unseen cameras of `val`
  test_locations: int = 20         # unseen cameras of `test`
  shift_strength: float = 0.5      # 0: OOD cameras drawn like training ones; 1: displaced
  class_tail: float = 0.5          # Zipf exponent of global class frequencies
  classes_per_location: int = 2    # resident classes of each camera (the shortcut's strength)
  fauna_branching: tuple[int, int, int] = (5, 4, 5)  # = synthetic_nature/small's taxonomy
  fauna_animal_orders: int = 3
  max_sequence_length: int = 3
  balanced_residents: bool = False     # every class resident at as many cameras (per split)
  location_volume_sigma: float = 1.0   # log-normal spread of the cameras' trigger rates
  seed: int = 0
  jpeg_quality: int = 90

  def world_settings(self) -> synthetic.WorldSettings:
    """The generator settings of this config."""
    return synthetic.WorldSettings(
        num_classes=self.num_classes, image_size=self.image_size,
        split_sizes={s: getattr(self, f'{s}_size') for s in synthetic.SPLITS},
        train_locations=self.train_locations, val_locations=self.val_locations,
        test_locations=self.test_locations, shift_strength=self.shift_strength,
        class_tail=self.class_tail, classes_per_location=self.classes_per_location,
        fauna_branching=tuple(self.fauna_branching), fauna_animal_orders=self.fauna_animal_orders,
        max_sequence_length=self.max_sequence_length,
        balanced_residents=self.balanced_residents,
        location_volume_sigma=self.location_volume_sigma,
        seed=self.seed)


CONFIGS = (
    # One resident species per camera: the scene alone names the animal at a training camera,
    # so scratch models lean on it. Every species lives at as many cameras as any other and
    # cameras trigger at similar rates, so no species rests on one or two cameras (whose
    # per-class F1 a short fine-tune gets to either 0 or about 0.7, by its seed). Many unseen
    # cameras (30 + 60) make OOD scores an average over many scenes.
    SyntheticWildcamConfig(name='small', classes_per_location=1, balanced_residents=True,
                           location_volume_sigma=0.3, val_size=1000, test_size=2000,
                           val_locations=30, test_locations=60,
                           description='Offline fine-tuning: 6,600 images at 32 px.'),
    SyntheticWildcamConfig(name='tiny', num_classes=6, train_size=240, id_val_size=40,
                           id_test_size=60, val_size=60, test_size=60, train_locations=8,
                           val_locations=3, test_locations=3, fauna_branching=(2, 2, 3),
                           fauna_animal_orders=1, description='Tests: 460 images at 32 px.'),
    SyntheticWildcamConfig(name='medium', num_classes=12, image_size=64, train_size=20_000,
                           id_val_size=2000, id_test_size=3000, val_size=3000, test_size=3000,
                           train_locations=60, val_locations=15, test_locations=20,
                           classes_per_location=3,
                           description='Larger offline benchmark: 31,000 images at 64 px.'),
)


class SyntheticWildcam(ArrayRecordBuilder):
  """Animal-like classes over camera-specific scenes; OOD = unseen cameras."""

  VERSION = tfds.core.Version('2.2.0')
  RELEASE_NOTES = {'1.0.0': 'First release.',
                   '2.0.0': 'Classes from the synthetic_nature fauna; resident classes per '
                   'camera (the shortcut); larger animals; 32 px.',
                   '2.1.0': '`small`: one resident class per camera (a stronger shortcut).',
                   '2.2.0': '`small`: balanced residents, even trigger rates, 30 + 60 unseen '
                   'cameras with 1,000 + 2,000 images.'}
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
