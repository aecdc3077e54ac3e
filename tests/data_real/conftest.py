"""Fixtures: manual dirs holding tiny copies of the official downloads (see real_formats.py)."""
import json
import pathlib
import zipfile
import zlib

import pytest

from tests.helpers.real_formats import (INAT_TAXA, INAT_TRAIN, INAT_VAL, RANKS, coco_json,
                          inat_categories_2021, inat_images, tar_folder, write_images,
                          write_iwildcam_folder, write_json_tar_gz)


@pytest.fixture(scope='module')
def iwildcam_manual(tmp_path_factory) -> pathlib.Path:
  """A manual dir holding the extracted `iwildcam_v2.0/` folder."""
  manual = tmp_path_factory.mktemp('iwildcam_manual')
  write_iwildcam_folder(manual)
  return manual


@pytest.fixture(scope='module')
def iwildcam_archive_manual(tmp_path_factory) -> pathlib.Path:
  """A manual dir holding only `iwildcam_v2.0.tar.gz`."""
  work = tmp_path_factory.mktemp('iwildcam_src')
  manual = tmp_path_factory.mktemp('iwildcam_archive_manual')
  tar_folder(write_iwildcam_folder(work), manual / 'iwildcam_v2.0.tar.gz')
  return manual


@pytest.fixture(scope='module')
def inat2021_manual(tmp_path_factory) -> pathlib.Path:
  """2021_mini files: train_mini.json.tar.gz + train_mini.tar.gz, val.json.tar.gz + val/."""
  manual = tmp_path_factory.mktemp('inat2021')
  work = tmp_path_factory.mktemp('inat2021_src')
  cats = inat_categories_2021()
  dir_of = lambda c: cats[c]['image_dir_name']
  train = inat_images('train_mini', INAT_TRAIN, dir_of, 0)
  val = inat_images('val', INAT_VAL, dir_of, 100)
  write_json_tar_gz(manual / 'train_mini.json.tar.gz', 'train_mini.json',
                    coco_json(train, cats, 2021))
  write_json_tar_gz(manual / 'val.json.tar.gz', 'val.json', coco_json(val, cats, 2021))
  write_images(work, train, truncated_id=train[-1][0])
  tar_folder(work / 'train_mini', manual / 'train_mini.tar.gz')
  write_images(manual, val)  # Extracted folder `val/`.
  return manual


def _write_inat2017(manual: pathlib.Path) -> pathlib.Path:
  cats = [{'id': i, 'name': f'{t[5]} {t[6]}', 'supercategory': t[2] if t[0] == 'Animalia'
           else t[0]} for i, t in enumerate(INAT_TAXA)]
  path_of = lambda c: f'{cats[c]["supercategory"]}/{cats[c]["name"]}'
  train = inat_images('train_val_images', INAT_TRAIN, path_of, 0)
  val = inat_images('train_val_images', INAT_VAL, path_of, 100)
  with zipfile.ZipFile(manual / 'train_val2017.zip', 'w') as z:
    z.writestr('train2017.json', json.dumps(coco_json(train, cats, 2017)))
    z.writestr('val2017.json', json.dumps(coco_json(val, cats, 2017)))
  write_images(manual, train + val)
  return manual


@pytest.fixture(scope='module')
def inat2017_manual(tmp_path_factory) -> pathlib.Path:
  """2017 files: train_val2017.zip (both JSONs) + extracted train_val_images/."""
  return _write_inat2017(tmp_path_factory.mktemp('inat2017'))


@pytest.fixture(scope='module')
def inat2017_taxonomy_manual(tmp_path_factory) -> pathlib.Path:
  """The 2017 files and 2021's val.json.tar.gz, whose taxonomy differs from 2017's names.

  2021 knows Prunella vulgaris by name; Vanessa atalanta only by its genus (2021 has Vanessa
  cardui); Prunella modularis by its genus in its kingdom (2021's Prunella collaris, beside the
  plant genus Prunella); Turdus merula not at all (no Turdus in 2021).
  """
  manual = _write_inat2017(tmp_path_factory.mktemp('inat2017_taxonomy'))
  renamed = {'Vanessa atalanta': 'cardui', 'Prunella modularis': 'collaris'}
  cats = []
  for c in inat_categories_2021():
    if c['genus'] == 'Turdus':
      continue
    epithet = renamed.get(c['name'], c['specific_epithet'])
    cats.append({**c, 'name': f'{c["genus"]} {epithet}', 'specific_epithet': epithet})
  write_json_tar_gz(manual / 'val.json.tar.gz', 'val.json', coco_json([], cats, 2021))
  return manual


@pytest.fixture(scope='module')
def inat2018_manual(tmp_path_factory) -> pathlib.Path:
  """2018 files: obfuscated train/val JSONs, categories.json.tar.gz, train_val2018.tar.gz."""
  manual = tmp_path_factory.mktemp('inat2018')
  work = tmp_path_factory.mktemp('inat2018_src')
  plain = []
  for i, t in enumerate(INAT_TAXA):
    supercategory = t[2] if t[0] == 'Animalia' else t[0]
    plain.append({'id': i, 'name': f'{t[5]} {t[6]}', 'supercategory': supercategory,
                  **dict(zip(RANKS, t[:6]))})
  # The competition JSONs hide every taxon name behind a number.
  hidden = [{**c, 'name': str(c['id']),
             **{r: f'{r}_{zlib.crc32(c[r].encode())}' for r in RANKS}} for c in plain]
  path_of = lambda c: f'{plain[c]["supercategory"]}/{c}'
  train = inat_images('train_val2018', INAT_TRAIN, path_of, 0)
  val = inat_images('train_val2018', INAT_VAL, path_of, 100)
  write_json_tar_gz(manual / 'train2018.json.tar.gz', 'train2018.json',
                    coco_json(train, hidden, 2018))
  write_json_tar_gz(manual / 'val2018.json.tar.gz', 'val2018.json',
                    coco_json(val, hidden, 2018))
  write_json_tar_gz(manual / 'categories.json.tar.gz', 'categories.json', plain)
  write_images(work, train + val)
  tar_folder(work / 'train_val2018', manual / 'train_val2018.tar.gz')
  return manual
