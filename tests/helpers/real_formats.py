"""Writers of tiny copies, in the exact on-disk formats of the official real-dataset downloads.

iWildCam-WILDS v2.0 (metadata.csv / categories.csv as WILDS' create_split.py writes them,
images under train/), Camelyon17-WILDS v1.0 (metadata.csv, patches/<slide folder>/<patch>.png),
iNaturalist 2017/2018/2021 (COCO-style JSON per the inat_comp
READMEs, images under <folder>/<...>/<file>.jpg).
"""
import csv
import io
import json
import pathlib
import tarfile

import numpy as np
from PIL import Image


def jpeg(width=40, height=30, color=(200, 30, 30), mode='RGB') -> bytes:
  """A small JPEG; mode 'L' gives a grayscale (camera-trap night) image."""
  out = io.BytesIO()
  fill = color if mode == 'RGB' else color[0]
  Image.new(mode, (width, height), fill).save(out, format='JPEG', quality=90)
  return out.getvalue()


def truncated_jpeg(width=64, height=48) -> bytes:
  """A JPEG cut inside its image data: the header still opens, decoding fails."""
  noise = np.random.default_rng(width * height).integers(0, 256, (height, width, 3))
  out = io.BytesIO()
  Image.fromarray(noise.astype(np.uint8)).save(out, format='JPEG', quality=90)
  data = out.getvalue()[:len(out.getvalue()) * 2 // 3]
  Image.open(io.BytesIO(data))  # Must still open: the cut is past the header.
  return data


def add_tar_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
  info = tarfile.TarInfo(name)
  info.size = len(data)
  tar.addfile(info, io.BytesIO(data))


def tar_folder(folder: pathlib.Path, archive: pathlib.Path, arcname: str | None = None):
  """Writes `folder` into a .tar.gz (or .tar) the way `tar czf` would."""
  mode = 'w:gz' if archive.name.endswith('gz') else 'w'
  with tarfile.open(archive, mode) as tar:
    tar.add(folder, arcname=arcname if arcname is not None else folder.name)


# --------------------------------------------------------------------------- iWildCam

IWILDCAM_ROWS = [
    # split, location_remapped, location, sequence_remapped, seq_id, y, category_id
    ('id_test', 0, 3, 0, '30048d32-7d42-11eb-8fb5-0242ac1c0002', 0, 0),
    ('id_val', 1, 20, 1, '3005a812-7d42-11eb-8fb5-0242ac1c0002', 181, 568),
    ('test', 2, 47, 2, '3006b0d6-7d42-11eb-8fb5-0242ac1c0002', 5, 11),
    ('test', 2, 47, 3, '3006b1ee-7d42-11eb-8fb5-0242ac1c0002', 5, 11),
    ('train', 0, 3, 4, '30094f7a-7d42-11eb-8fb5-0242ac1c0002', 1, 2),
    ('train', 0, 3, 4, '30094f7a-7d42-11eb-8fb5-0242ac1c0002', 1, 2),
    ('train', 1, 20, 5, '300a0410-7d42-11eb-8fb5-0242ac1c0002', 0, 0),
    ('train', 3, 71, 6, '300c11a8-7d42-11eb-8fb5-0242ac1c0002', 181, 568),
    ('val', 4, 102, 7, '300d2e4a-7d42-11eb-8fb5-0242ac1c0002', 5, 11),
]
IWILDCAM_TRUNCATED = 7  # Row index whose JPEG is cut in half.
IWILDCAM_GRAYSCALE = 1


def iwildcam_filename(i: int) -> str:
  return f'8{i:07x}-21bc-11ea-a13a-137349068a90.jpg'


def iwildcam_category_name(y: int) -> str:
  return 'empty' if y == 0 else f'species_{y:03d}'


def write_iwildcam_folder(root: pathlib.Path, truncated: int = IWILDCAM_TRUNCATED
                          ) -> pathlib.Path:
  """`root/iwildcam_v2.0/` as WILDS v2.0 extracts it (row `truncated` cut); returns it."""
  folder = root / 'iwildcam_v2.0'
  (folder / 'train').mkdir(parents=True)
  with open(folder / 'metadata.csv', 'w', newline='') as f:
    writer = csv.writer(f)  # pandas to_csv: unnamed index column first.
    writer.writerow(['', 'split', 'location_remapped', 'location', 'sequence_remapped',
                     'seq_id', 'y', 'category_id', 'datetime', 'filename', 'image_id'])
    for i, (split, loc, loc_raw, seq, seq_id, y, cat) in enumerate(IWILDCAM_ROWS):
      name = iwildcam_filename(i)
      writer.writerow([i, split, loc, loc_raw, seq, seq_id, y, cat,
                       f'2013-06-{10 + i:02d} 16:14:{i:02d}.000', name, name[:-4]])
      data = jpeg(60 + i, 40, mode='L' if i == IWILDCAM_GRAYSCALE else 'RGB')
      if i == truncated:
        data = truncated_jpeg()
      (folder / 'train' / name).write_bytes(data)
  with open(folder / 'categories.csv', 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(['y', 'category_id', 'name'])
    for y in range(182):
      writer.writerow([y, 3 * y, iwildcam_category_name(y)])
    for cat in (1, 4):  # Categories without images: WILDS writes y=99999.
      writer.writerow([99999, cat, f'unused_{cat}'])
  return folder


# --------------------------------------------------------------------------- Camelyon17

CAMELYON_ROWS = [
    # patient, node, x_coord, y_coord, tumor, slide, center, split (WILDS v1.0 metadata.csv)
    ('004', 4, 3328, 21792, 1, 0, 0, 0),
    ('004', 4, 3360, 21792, 0, 0, 0, 0),
    ('009', 1, 22784, 6528, 0, 3, 0, 1),
    ('020', 2, 1024, 2048, 1, 14, 1, 0),
    ('021', 2, 2048, 4096, 0, 15, 1, 1),
    ('040', 1, 512, 768, 1, 20, 2, 0),
    ('041', 0, 640, 896, 0, 21, 2, 0),
    ('060', 3, 7000, 8000, 1, 30, 3, 0),
    ('061', 4, 9000, 9100, 0, 31, 3, 1),
    ('080', 2, 100, 200, 1, 40, 4, 0),
    ('081', 0, 300, 400, 0, 41, 4, 0),
]
# Their WILDS official split: hospitals 1 and 2 are OOD (val, test), the rest by `split`.
CAMELYON_SPLITS = ('train', 'train', 'id_val', 'val', 'val', 'test', 'test', 'train', 'id_val',
                   'train', 'train')
CAMELYON_TRUNCATED = 9  # A training patch cut short: skipped, recorded.


def png(color=(200, 30, 30), size=96) -> bytes:
  out = io.BytesIO()
  Image.new('RGB', (size, size), color).save(out, format='PNG')
  return out.getvalue()


def camelyon_patch(patient: str, node: int, x: int, y: int) -> str:
  """WILDS' patch path, relative to camelyon17_v1.0/."""
  return (f'patches/patient_{patient}_node_{node}/'
          f'patch_patient_{patient}_node_{node}_x_{x}_y_{y}.png')


def write_camelyon_folder(root: pathlib.Path, truncated: int | None = CAMELYON_TRUNCATED
                          ) -> pathlib.Path:
  """`root/camelyon17_v1.0/` as WILDS v1.0 extracts it (row `truncated` cut); returns it."""
  folder = root / 'camelyon17_v1.0'
  folder.mkdir(parents=True)
  with open(folder / 'metadata.csv', 'w', newline='') as f:
    writer = csv.writer(f)  # pandas to_csv: unnamed index column first.
    writer.writerow(['', 'patient', 'node', 'x_coord', 'y_coord', 'tumor', 'slide', 'center',
                     'split'])
    for i, (patient, node, x, y, tumor, slide, center, split) in enumerate(CAMELYON_ROWS):
      writer.writerow([i, patient, node, x, y, tumor, slide, center, split])
      path = folder / camelyon_patch(patient, node, x, y)
      path.parent.mkdir(parents=True, exist_ok=True)
      data = png((220 if tumor else 60, 40 * center, 10 * i))
      path.write_bytes(data[:len(data) // 2] if i == truncated else data)
  return folder


# --------------------------------------------------------------------------- iNaturalist

# (kingdom, phylum, class, order, family, genus, specific_epithet, supercategory)
INAT_TAXA = [
    ('Animalia', 'Chordata', 'Aves', 'Passeriformes', 'Prunellidae', 'Prunella',
     'modularis', 'Birds'),
    ('Animalia', 'Chordata', 'Aves', 'Passeriformes', 'Turdidae', 'Turdus', 'merula',
     'Birds'),
    ('Animalia', 'Arthropoda', 'Insecta', 'Lepidoptera', 'Nymphalidae', 'Vanessa',
     'atalanta', 'Insects'),
    ('Plantae', 'Tracheophyta', 'Magnoliopsida', 'Lamiales', 'Lamiaceae', 'Prunella',
     'vulgaris', 'Plants'),
]
RANKS = ('kingdom', 'phylum', 'class', 'order', 'family', 'genus')


def inat_categories_2021():
  cats = []
  for i, taxon in enumerate(INAT_TAXA):
    *ranks, epithet, supercategory = taxon
    dir_name = f'{i:05d}_' + '_'.join(ranks + [epithet])
    cats.append({'id': i, 'name': f'{ranks[-1]} {epithet}', 'common_name': f'common {i}',
                 'supercategory': supercategory, **dict(zip(RANKS, ranks)),
                 'specific_epithet': epithet, 'image_dir_name': dir_name})
  return cats


def coco_json(images, categories, year):
  """images: list of (id, file_name, category_id)."""
  return {
      'info': {'year': year, 'version': '1.0', 'description': 'fixture',
               'contributor': 'tests', 'url': '', 'date_created': '2021-01-01'},
      'images': [{'id': i, 'width': 40, 'height': 30, 'file_name': f, 'license': 1,
                  'rights_holder': 'someone'} for i, f, _ in images],
      'categories': categories,
      'annotations': [{'id': 1000 + i, 'image_id': i, 'category_id': c}
                      for i, _, c in images],
      'licenses': [{'id': 1, 'name': 'CC BY', 'url': ''}],
  }


def write_json_tar_gz(path: pathlib.Path, member: str, obj) -> None:
  with tarfile.open(path, 'w:gz') as tar:
    add_tar_bytes(tar, member, json.dumps(obj).encode())


# Images per split: (category id, count).
INAT_TRAIN = [(0, 2), (1, 1), (2, 1), (3, 2)]
INAT_VAL = [(0, 1), (3, 1)]


def inat_images(prefix, counts, path_of, start):
  images, i = [], start
  for cat, n in counts:
    for _ in range(n):
      images.append((i, f'{prefix}/{path_of(cat)}/{i:032x}.jpg', cat))
      i += 1
  return images


def write_images(root: pathlib.Path, images, truncated_id=None):
  for i, name, cat in images:
    data = truncated_jpeg() if i == truncated_id else jpeg(40 + i, 30, (40 * cat, 10 * i, 90))
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_bytes(data)


def build_dataset(name: str, manual_dir, data_dir):
  """Prepares TFDS dataset `name` from `manual_dir` into `data_dir`, like `tfds build`."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  import jaxrobust.datasets  # noqa: F401  (registers the builders)
  builder = tfds.builder(name, data_dir=str(data_dir))
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir)))
  return builder
