"""TFDS builders of jaxrobust; `import jaxrobust.datasets` registers them."""
import dataclasses
import io
import json

from etils import epath
import numpy as np
import tensorflow_datasets as tfds
from PIL import Image

from jaxrobust.datasets.hierarchy import HIERARCHY_FILE, label_feature

HIERARCHY_KEY = 'hierarchy'


class ArrayRecordBuilder(tfds.core.GeneratorBasedBuilder):
  """A GeneratorBasedBuilder that writes array_record unless told otherwise.

  Builder-config fields can be overridden by keyword, also from a TFDS name string:
  `tfds.builder('synthetic_wildcam/small:1.0.0/shift_strength=0.5')` builds the
  config `small-shift_strength=0.5` (its own directory, so it never clobbers `small`).
  """

  def __init__(self, *, config=None, file_format=None, **kwargs):
    base_fields = {f.name for f in dataclasses.fields(tfds.core.BuilderConfig)}
    fields = {f.name for f in dataclasses.fields(self.BUILDER_CONFIGS[0])} - base_fields
    overrides = {k: kwargs.pop(k) for k in list(kwargs) if k in fields}
    if overrides:
      config = with_overrides(
          self.builder_configs[config or self.DEFAULT_CONFIG_NAME]
          if config is None or isinstance(config, str) else config, overrides)
    super().__init__(config=config, file_format=file_format or 'array_record', **kwargs)


def with_overrides(config: tfds.core.BuilderConfig, overrides: dict) -> tfds.core.BuilderConfig:
  """A copy of `config` with some fields changed, named after its base and the changes."""
  suffix = ','.join(f'{k}={v}' for k, v in sorted(overrides.items()))
  return dataclasses.replace(config, name=f'{config.name}-{suffix}', **overrides)


def encode_image(image: np.ndarray, image_format: str = 'png', quality: int = 90) -> bytes:
  """Encoded bytes of a uint8 HxWx3 image (PNG, or JPEG at `quality`); deterministic."""
  buffer = io.BytesIO()
  if image_format == 'png':
    Image.fromarray(image).save(buffer, format='PNG')
  elif image_format == 'jpeg':
    Image.fromarray(image).save(buffer, format='JPEG', quality=quality)
  else:
    raise ValueError(f"image_format must be 'png' or 'jpeg', got {image_format!r}")
  return buffer.getvalue()


class HierarchyMetadata(tfds.core.MetadataDict):
  """Metadata whose `hierarchy` entry (Hierarchy JSON) is also saved as hierarchy.json beside it."""

  def save_metadata(self, data_dir):
    super().save_metadata(data_dir)
    (epath.Path(data_dir) / HIERARCHY_FILE).write_text(json.dumps(self[HIERARCHY_KEY]))


def hierarchy_info(builder: tfds.core.DatasetBuilder, hierarchy, image_size: int,
                   encoding_format: str, description: str) -> tfds.core.DatasetInfo:
  """DatasetInfo of a generated hierarchical source: image, a label per level, instance."""
  labels = {label_feature(level): tfds.features.ClassLabel(names=hierarchy.classes[level])
            for level in hierarchy.levels}
  return tfds.core.DatasetInfo(
      builder=builder,
      description=description,
      features=tfds.features.FeaturesDict({
          'image': tfds.features.Image(shape=(image_size, image_size, 3),
                                       encoding_format=encoding_format),
          **labels,
          'instance': tfds.features.Scalar(dtype=np.int32),
      }),
      supervised_keys=('image', 'label'),
      metadata=HierarchyMetadata(hierarchy=hierarchy.to_json()),
  )


def instance_splits(num_instances: int, test_instances: int) -> dict[str, range]:
  """Instance ids of each split: `train` first, then `test` (held out) if any."""
  splits = {'train': range(num_instances)}
  if test_instances:
    splits['test'] = range(num_instances, num_instances + test_instances)
  return splits


def level_labels(hierarchy, fine: int) -> dict[str, int]:
  """The label features of fine class `fine`: its ancestor id at every level."""
  return {label_feature(level): int(hierarchy.ancestors[level][fine])
          for level in hierarchy.levels}
