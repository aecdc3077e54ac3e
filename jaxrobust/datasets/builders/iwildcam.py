"""`iwildcam`: iWildCam2020-WILDS v2.0 from the user's WILDS download (TFDS has no builder).

Reads `iwildcam_v2.0.tar.gz` or its extracted folder `iwildcam_v2.0/` from the manual dir:
`metadata.csv` (columns of WILDS v2.0: split, location_remapped, location,
sequence_remapped, seq_id, y, category_id, datetime, filename, image_id), `categories.csv`
(y, category_id, name; y=99999 marks categories without images) and the images under
`train/`. Splits `train`, `id_val`, `id_test`, `val`, `test` come from the `split` column.
Configs: `448` (default) stores every image resized to 448x448 JPEG, the resolution WILDS
trains at; `original` stores the downloaded bytes untouched. Corrupt or missing training
images are skipped and listed in the metadata (`skipped_images`); one in an evaluation split
stops the build (config field `skip_unreadable_eval_images` opts in to skipping it).
"""
from __future__ import annotations

import csv
import dataclasses
import io
import os

import numpy as np
import tensorflow_datasets as tfds

from jaxrobust import errors
from jaxrobust.datasets import archives
from jaxrobust.datasets import images
from jaxrobust.datasets.builders import ArrayRecordBuilder

SPLITS = ('train', 'id_val', 'id_test', 'val', 'test')
NUM_CLASSES = 182
ARCHIVE = 'iwildcam_v2.0.tar.gz'
FOLDER = 'iwildcam_v2.0'
SOURCE = ('WILDS (https://wilds.stanford.edu/datasets/, v2.0 archive: https://worksheets.'
          'codalab.org/rest/bundles/0x6313da2b204647e79a14b468131fcd64/contents/blob/)')
METADATA_COLUMNS = ('split', 'location_remapped', 'sequence_remapped', 'datetime', 'y',
                    'filename', 'image_id')
NO_IMAGES_Y = 99999  # categories.csv's y for categories that have no images in WILDS.


OPT_IN = 'skip_unreadable_eval_images'


@dataclasses.dataclass(eq=False)
class IwildcamConfig(tfds.core.BuilderConfig):
  """`image_size`: side of the stored square JPEG; 0 keeps the original bytes.

  `skip_unreadable_eval_images`: skip unreadable id_val/id_test/val/test images instead of
  stopping the build (opt-in, e.g. `iwildcam/448/skip_unreadable_eval_images=True`).
  """
  image_size: int = 448
  skip_unreadable_eval_images: bool = False


def read_metadata(source: str | os.PathLike[str]) -> list[dict[str, str]]:
  """The rows of WILDS' metadata.csv (folder or archive), checked for the v2.0 columns."""
  text = archives.read_file(source, 'metadata.csv', strip_prefix=FOLDER + '/',
                            what='iwildcam').decode('utf-8')
  reader = csv.DictReader(io.StringIO(text))
  missing = [c for c in METADATA_COLUMNS if c not in (reader.fieldnames or ())]
  if missing:
    raise errors.UserError(f'iwildcam: {source} metadata.csv lacks columns {missing}; '
                     'is this the WILDS iwildcam v2.0 download?')
  return list(reader)


def read_class_names(source: str | os.PathLike[str]) -> list[str]:
  """The 182 class names by `y`, from categories.csv (rows with y=99999 dropped)."""
  text = archives.read_file(source, 'categories.csv', strip_prefix=FOLDER + '/',
                            what='iwildcam').decode('utf-8')
  names = {}
  for row in csv.DictReader(io.StringIO(text)):
    if int(row['y']) != NO_IMAGES_Y:
      names[int(row['y'])] = row['name']
  if sorted(names) != list(range(NUM_CLASSES)):
    raise errors.UserError(f'iwildcam: {source} categories.csv names y in {min(names)}..'
                     f'{max(names)} ({len(names)} classes); WILDS v2.0 has y = 0..'
                     f'{NUM_CLASSES - 1}. Is this the v2.0 download?')
  return [names[y] for y in range(NUM_CLASSES)]


class Iwildcam(ArrayRecordBuilder):
  """iWildCam2020-WILDS v2.0: camera-trap images, 182 classes, location shift."""

  VERSION = tfds.core.Version('2.0.0')
  RELEASE_NOTES = {'2.0.0': 'WILDS iwildcam v2.0 (metadata.csv, 182 classes).'}
  BUILDER_CONFIGS = [
      IwildcamConfig(name='448', image_size=448,
                     description='Images resized to 448x448 JPEG (WILDS resolution).'),
      IwildcamConfig(name='original', image_size=0,
                     description='Images as downloaded, never re-encoded.'),
  ]
  DEFAULT_CONFIG_NAME = '448'
  MANUAL_DOWNLOAD_INSTRUCTIONS = (
      f'Put {ARCHIVE} (the WILDS iwildcam v2.0 archive) or its extracted folder {FOLDER}/ '
      f'(metadata.csv, categories.csv, train/) into the manual dir. Source: {SOURCE}.')

  def _info(self) -> tfds.core.DatasetInfo:
    size = self.builder_config.image_size
    image = (tfds.features.Image(shape=(size, size, 3), encoding_format='jpeg') if size
             else tfds.features.Image())
    return tfds.core.DatasetInfo(
        builder=self,
        description=__doc__,
        features=tfds.features.FeaturesDict({
            'image': image,
            'label': tfds.features.ClassLabel(num_classes=NUM_CLASSES),
            'location': tfds.features.Scalar(dtype=np.int32),
            'sequence': tfds.features.Scalar(dtype=np.int32),
            'datetime': tfds.features.Text(),
            'filename': tfds.features.Text(),
            'image_id': tfds.features.Text(),
        }),
        supervised_keys=('image', 'label'),
        homepage='https://wilds.stanford.edu/datasets/#iwildcam',
        metadata=tfds.core.MetadataDict(),
    )

  def manual_files(self) -> archives.ManualFiles:
    """The manual download: the WILDS archive or its extracted folder."""
    return archives.ManualFiles('iwildcam', [(FOLDER, ARCHIVE)], SOURCE)

  def _split_generators(self, dl_manager):
    source, = self.manual_files().require(archives.manual_dir_of(dl_manager))
    rows = read_metadata(source)
    self.info.features['label'].names = read_class_names(source)
    self.info.metadata[images.SKIPPED_KEY] = []
    self.info.metadata[images.NUM_SKIPPED_KEY] = 0
    # Evaluation splits first: an unreadable image there stops the build before the long train.
    order = sorted(SPLITS, key=lambda s: s not in images.EVAL_SPLITS)
    return {split: self._generate_examples(source, [r for r in rows if r['split'] == split],
                                           split)
            for split in order}

  def _generate_examples(self, source, rows, split):
    size = self.builder_config.image_size
    by_path = {f'train/{row["filename"]}': row for row in rows}
    for path, data in archives.iter_files(source, by_path, strip_prefix=FOLDER + '/'):
      row = by_path[path]
      try:
        image = images.resize_to_jpeg(data, (size, size)) if size else images.checked_image(data)
      except images.CorruptImageError as e:
        images.record_skipped(self.info.metadata, split, path, str(e))
        continue
      yield row['filename'], {
          'image': image,
          'label': int(row['y']),
          'location': int(row['location_remapped']),
          'sequence': int(row['sequence_remapped']),
          'datetime': row['datetime'],
          'filename': row['filename'],
          'image_id': row['image_id'],
      }
    images.check_eval_split(
        self.info.metadata, split, dataset=f'iwildcam/{self.builder_config.name}',
        opt_in=OPT_IN, allowed=self.builder_config.skip_unreadable_eval_images)
