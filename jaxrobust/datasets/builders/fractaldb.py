"""`fractaldb`: FractalDB (Kataoka et al., ACCV 2020) generated with the JAX renderer.

Splits: `train` (`num_instances` per category) and, when `test_instances` > 0, `test`
(further held-out instances of the same categories). The searched systems are stored in
the dataset metadata (`systems`), so every category's base system can be checked.
"""
import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from jaxrobust.datasets import fractals
from jaxrobust.datasets.builders import ArrayRecordBuilder, encode_image, instance_splits


@dataclasses.dataclass(eq=False)
class FractalDBConfig(tfds.core.BuilderConfig):
  """Every knob of one FractalDB variant (defaults: the paper's FractalDB-1k)."""
  num_classes: int = 1000
  num_instances: int = 1000        # per category, split `train`
  test_instances: int = 10         # per category, split `test` (0: no test split)
  image_size: int = 362
  render_size: int = 0             # 0: draw at image_size; else draw larger and downsample
  num_points: int = 200_000        # chaos-game points per image
  color: bool = False              # False: patch_gray; True: random RGB patches
  seed: int = 0
  fill_threshold: float = 0.2      # category search: minimum fill rate
  min_maps: int = 2
  max_maps: int = 7
  search_points: int = 100_000
  search_size: int = 512
  batch_size: int = 32             # images per jit call (sharded over all devices)

  def search_settings(self) -> fractals.SearchSettings:
    """The category-search part of this config."""
    return fractals.SearchSettings(
        fill_threshold=self.fill_threshold, min_maps=self.min_maps, max_maps=self.max_maps,
        num_points=self.search_points, image_size=self.search_size)

  def render_settings(self) -> fractals.RenderSettings:
    """The instance-rendering part of this config."""
    return fractals.RenderSettings(
        image_size=self.image_size, render_size=self.render_size,
        num_points=self.num_points, num_chains=min(1000, self.num_points),
        color=self.color, batch_size=self.batch_size)


CONFIGS = (
    FractalDBConfig(name='1k', description='FractalDB-1k: 1000 x 1000 at 362 px, 200k points.'),
    FractalDBConfig(name='100', num_classes=100,
                    description='FractalDB-100: 100 x 1000 at 362 px, 200k points.'),
    FractalDBConfig(name='small', num_classes=100, num_instances=50, test_instances=10,
                    image_size=48, render_size=128, num_points=20_000,
                    description='Offline pre-training: 100 x 50 at 48 px (drawn at 128 px).'),
    FractalDBConfig(name='tiny', num_classes=10, num_instances=20, test_instances=5,
                    image_size=32, render_size=128, num_points=20_000,
                    description='Tests and the 2-minute CPU run: 10 x 20 at 32 px.'),
)


class Fractaldb(ArrayRecordBuilder):
  """FractalDB: IFS categories accepted by fill rate, perturbed and patch-rendered instances."""

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'JAX renderer, array_record, PNG images.'}
  BUILDER_CONFIGS = list(CONFIGS)
  DEFAULT_CONFIG_NAME = 'tiny'

  def _info(self) -> tfds.core.DatasetInfo:
    config = self.builder_config
    return tfds.core.DatasetInfo(
        builder=self,
        description=__doc__,
        features=tfds.features.FeaturesDict({
            'image': tfds.features.Image(shape=(config.image_size, config.image_size, 3),
                                         encoding_format='png'),
            'label': tfds.features.ClassLabel(num_classes=config.num_classes),
            'instance': tfds.features.Scalar(dtype=np.int32),
        }),
        supervised_keys=('image', 'label'),
        metadata=tfds.core.MetadataDict(),
        homepage='https://hirokatsukataoka16.github.io/Pretraining-without-Natural-Images/',
        citation='Kataoka et al., Pre-training without Natural Images, ACCV 2020.',
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # generated, nothing to download
    config = self.builder_config
    systems = fractals.search_categories(config.num_classes, config.seed,
                                         config.search_settings())
    self.info.metadata['systems'] = systems.to_json()
    self.info.metadata['search'] = dataclasses.asdict(config.search_settings())
    splits = instance_splits(config.num_instances, config.test_instances)
    return {name: self._generate_examples(systems, instances)
            for name, instances in splits.items()}

  def _generate_examples(self, systems: fractals.Systems, instances: range):
    config = self.builder_config
    pairs = [(c, i) for c in range(len(systems)) for i in instances]
    for category, instance, image in fractals.render_instances(
        systems, pairs, config.seed, config.render_settings()):
      yield f'{category}_{instance}', {
          'image': encode_image(image, 'png'), 'label': category, 'instance': instance}
