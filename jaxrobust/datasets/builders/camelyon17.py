"""`camelyon17`: Camelyon17-WILDS v1.0 from the user's WILDS download (TFDS has no builder).

Reads `camelyon17_v1.0.tar.gz` or its extracted folder `camelyon17_v1.0/` from the manual dir:
`metadata.csv` (columns of WILDS v1.0: patient, node, x_coord, y_coord, tumor, slide, center,
split) and the 96x96 PNG patches under
`patches/patient_<patient>_node_<node>/patch_patient_<patient>_node_<node>_x_<x>_y_<y>.png`.
Splits as WILDS' official scheme makes them: hospitals (`center`) 0, 3 and 4 are in
distribution, their patches `train` (split column 0) or `id_val` (1); hospital 1 is the OOD
validation split `val`, hospital 2 the OOD test split `test`. There is no ID test split: WILDS
reports ID validation accuracy as the in-distribution number (configs/quantity_camelyon.py
declares `id_val` as the benchmark's ID split). The label is `tumor` (binary); the patches are
stored as downloaded, never re-encoded. A corrupt or missing training patch is skipped and
listed in the metadata (`skipped_images`); one in an evaluation split stops the build (config
field `skip_unreadable_eval_images` opts in to skipping it).
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

SPLITS = ('train', 'id_val', 'val', 'test')
CLASSES = ('normal', 'tumor')
VAL_HOSPITAL = 1   # WILDS' OOD validation hospital
TEST_HOSPITAL = 2  # WILDS' OOD test hospital
ID_VAL_SPLIT_VALUE = 1  # metadata.csv `split` of the ID validation patches (0: train)
PATCH_SIZE = 96
ARCHIVE = 'camelyon17_v1.0.tar.gz'
FOLDER = 'camelyon17_v1.0'
SOURCE = ('WILDS (https://wilds.stanford.edu/datasets/, v1.0 archive: https://worksheets.'
          'codalab.org/rest/bundles/0xe45e15f39fb54e9d9e919556af67aabe/contents/blob/)')
METADATA_COLUMNS = ('patient', 'node', 'x_coord', 'y_coord', 'tumor', 'slide', 'center', 'split')
OPT_IN = 'skip_unreadable_eval_images'


@dataclasses.dataclass(eq=False)
class Camelyon17Config(tfds.core.BuilderConfig):
  """`skip_unreadable_eval_images`: skip unreadable id_val/val/test patches instead of
  stopping the build (opt-in, e.g. `camelyon17/patches/skip_unreadable_eval_images=True`)."""
  skip_unreadable_eval_images: bool = False


def read_metadata(source: str | os.PathLike[str]) -> list[dict[str, str]]:
  """The rows of WILDS' metadata.csv (folder or archive), checked for the v1.0 columns."""
  text = archives.read_file(source, 'metadata.csv', strip_prefix=FOLDER + '/',
                            what='camelyon17').decode('utf-8')
  reader = csv.DictReader(io.StringIO(text))
  missing = [c for c in METADATA_COLUMNS if c not in (reader.fieldnames or ())]
  if missing:
    raise errors.UserError(f'camelyon17: {source} metadata.csv lacks columns {missing}; '
                           'is this the WILDS camelyon17 v1.0 download?')
  return list(reader)


def split_of(row: dict[str, str]) -> str:
  """The WILDS official split of one metadata row (by hospital, then the split column)."""
  hospital = int(row['center'])
  if hospital == VAL_HOSPITAL:
    return 'val'
  if hospital == TEST_HOSPITAL:
    return 'test'
  return 'id_val' if int(row['split']) == ID_VAL_SPLIT_VALUE else 'train'


def patch_path(row: dict[str, str]) -> str:
  """The patch file of one metadata row, relative to the dataset folder (WILDS' naming)."""
  patient, node = row['patient'], row['node']
  return (f'patches/patient_{patient}_node_{node}/'
          f'patch_patient_{patient}_node_{node}_x_{row["x_coord"]}_y_{row["y_coord"]}.png')


class Camelyon17(ArrayRecordBuilder):
  """Camelyon17-WILDS v1.0: tumor vs normal tissue patches, hospital shift."""

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'WILDS camelyon17 v1.0 (metadata.csv, 96x96 patches).'}
  BUILDER_CONFIGS = [Camelyon17Config(name='patches',
                                      description='The 96x96 PNG patches as downloaded.')]
  DEFAULT_CONFIG_NAME = 'patches'
  MANUAL_DOWNLOAD_INSTRUCTIONS = (
      f'Put {ARCHIVE} (the WILDS camelyon17 v1.0 archive) or its extracted folder {FOLDER}/ '
      f'(metadata.csv, patches/) into the manual dir. Source: {SOURCE}.')

  def _info(self) -> tfds.core.DatasetInfo:
    return tfds.core.DatasetInfo(
        builder=self,
        description=__doc__,
        features=tfds.features.FeaturesDict({
            'image': tfds.features.Image(shape=(PATCH_SIZE, PATCH_SIZE, 3),
                                         encoding_format='png'),
            'label': tfds.features.ClassLabel(names=CLASSES),
            'hospital': tfds.features.Scalar(dtype=np.int32),
            'slide': tfds.features.Scalar(dtype=np.int32),
            'patient': tfds.features.Text(),
            'node': tfds.features.Scalar(dtype=np.int32),
            'filename': tfds.features.Text(),
        }),
        supervised_keys=('image', 'label'),
        homepage='https://wilds.stanford.edu/datasets/#camelyon17',
        metadata=tfds.core.MetadataDict(),
    )

  def manual_files(self) -> archives.ManualFiles:
    """The manual download: the WILDS archive or its extracted folder."""
    return archives.ManualFiles('camelyon17', [(FOLDER, ARCHIVE)], SOURCE)

  def _split_generators(self, dl_manager):
    source, = self.manual_files().require(archives.manual_dir_of(dl_manager))
    rows = read_metadata(source)
    self.info.metadata[images.SKIPPED_KEY] = []
    self.info.metadata[images.NUM_SKIPPED_KEY] = 0
    # Evaluation splits first: an unreadable patch there stops the build before the long train.
    order = sorted(SPLITS, key=lambda s: s not in images.EVAL_SPLITS)
    return {split: self._generate_examples(source, [r for r in rows if split_of(r) == split],
                                           split)
            for split in order}

  def _generate_examples(self, source, rows, split):
    by_path = {patch_path(row): row for row in rows}
    for path, data in archives.iter_files(source, by_path, strip_prefix=FOLDER + '/'):
      row = by_path[path]
      try:
        image = images.checked_image(data)
      except images.CorruptImageError as e:
        images.record_skipped(self.info.metadata, split, path, str(e))
        continue
      yield path, {
          'image': image,
          'label': int(row['tumor']),
          'hospital': int(row['center']),
          'slide': int(row['slide']),
          'patient': row['patient'],
          'node': int(row['node']),
          'filename': path,
      }
    images.check_eval_split(
        self.info.metadata, split, dataset=f'camelyon17/{self.builder_config.name}',
        opt_in=OPT_IN, allowed=self.builder_config.skip_unreadable_eval_images)
