"""`inaturalist`: iNaturalist 2017/2018/2021 with every taxonomy rank as a label feature.

Reads the official competition files (https://github.com/visipedia/inat_comp) from the
manual dir: the COCO-style JSON annotations (plain or in their .zip/.tar.gz) and the
images (the image archive or its extracted folder). TFDS's own iNaturalist builders keep
only species and supercategory; this one keeps what each year's JSON carries:
  2017             supercategory; kingdom ... genus derived (below)
  2018             supercategory, kingdom, phylum, class, order, family, genus
                   (obfuscated in the JSON; the un-obfuscated `categories.json[.tar.gz]`
                   is used when present)
  2021, 2021_mini  supercategory, kingdom, phylum, class, order, family, genus
as features `label_<rank>`, with `label` = the category (species) id. Splits: `train`
(`train_mini` files for 2021_mini) and `val`. The hierarchy is stored in the metadata
and as `hierarchy.json` (Hierarchy JSON: levels supercategory, kingdom ... genus, label;
groups `animal` / `non_animal` by supercategory, and `resolved`: the species whose every rank
is known).

2017's categories carry only supercategory and the scientific name. Its genus is the name's
first word (binomial names). Kingdom ... family come from a 2021 taxonomy, 2021's
`val.json[.tar.gz]` put beside the 2017 files: a species takes the ranks of the 2021 species
of the same name, else of the 2021 genus of its genus name when that genus has one path from
the kingdom in the species' kingdom (from its supercategory: Plantae, Fungi, Chromista,
Protozoa, else Animalia). A rank not found this way is the taxon `unresolved` and the species
is left out of the group `resolved`; without the 2021 file no species is resolved.
"""
from __future__ import annotations

import collections
from collections.abc import Mapping, Sequence
import dataclasses
import json
import pathlib

from absl import logging
import numpy as np
import tensorflow_datasets as tfds

from jaxrobust import errors
from jaxrobust.datasets import archives
from jaxrobust.datasets import hierarchy
from jaxrobust.datasets import images
from jaxrobust.datasets import builders
from jaxrobust.datasets.builders import ArrayRecordBuilder

TAXONOMY = ('kingdom', 'phylum', 'class', 'order', 'family', 'genus')
SUPERCATEGORY = 'supercategory'
UNRESOLVED = 'unresolved'  # a rank that a 2017 species' name does not resolve
KINGDOM_SUPERCATEGORIES = frozenset({'Plantae', 'Fungi', 'Chromista', 'Protozoa'})
NON_ANIMAL_SUPERCATEGORIES = frozenset(
    {'Plantae', 'Plants', 'Fungi', 'Chromista', 'Protozoa', 'Bacteria'})


@dataclasses.dataclass(eq=False)
class InaturalistConfig(tfds.core.BuilderConfig):
  """Where one competition year keeps its files, and which ranks its categories carry.

  `annotations` and `images` map a split to (plain file or folder, archive) names in the
  manual dir; `categories` names an optional replacement category list (matched by id);
  `taxonomy` an optional annotation file whose categories give the ranks by species name.
  """
  ranks: tuple[str, ...] = ()
  annotations: Mapping[str, tuple[str, str]] = dataclasses.field(default_factory=dict)
  images: Mapping[str, tuple[str, str]] = dataclasses.field(default_factory=dict)
  categories: tuple[str, str] | None = None
  taxonomy: tuple[str, str] | None = None
  source: str = ''


def _inat_url(year: str) -> str:
  return f'https://github.com/visipedia/inat_comp/tree/master/{year}'


_VAL_2021 = ('val.json', 'val.json.tar.gz')
CONFIGS = (
    InaturalistConfig(
        name='2017', description='iNat 2017: 5,089 species; ranks from the name and 2021.',
        ranks=(SUPERCATEGORY,) + TAXONOMY,
        annotations={'train': ('train2017.json', 'train_val2017.zip'),
                     'val': ('val2017.json', 'train_val2017.zip')},
        images={'train': ('train_val_images', 'train_val_images.tar.gz'),
                'val': ('train_val_images', 'train_val_images.tar.gz')},
        taxonomy=_VAL_2021, source=_inat_url('2017')),
    InaturalistConfig(
        name='2018', description='iNat 2018: 8,142 species, kingdom..genus.',
        ranks=(SUPERCATEGORY,) + TAXONOMY,
        annotations={'train': ('train2018.json', 'train2018.json.tar.gz'),
                     'val': ('val2018.json', 'val2018.json.tar.gz')},
        images={'train': ('train_val2018', 'train_val2018.tar.gz'),
                'val': ('train_val2018', 'train_val2018.tar.gz')},
        categories=('categories.json', 'categories.json.tar.gz'),
        source=_inat_url('2018')),
    InaturalistConfig(
        name='2021', description='iNat 2021: 10,000 species, full train (2.7M images).',
        ranks=(SUPERCATEGORY,) + TAXONOMY,
        annotations={'train': ('train.json', 'train.json.tar.gz'), 'val': _VAL_2021},
        images={'train': ('train', 'train.tar.gz'), 'val': ('val', 'val.tar.gz')},
        source=_inat_url('2021')),
    InaturalistConfig(
        name='2021_mini', description='iNat 2021: 10,000 species, train_mini (500K images).',
        ranks=(SUPERCATEGORY,) + TAXONOMY,
        annotations={'train': ('train_mini.json', 'train_mini.json.tar.gz'),
                     'val': _VAL_2021},
        images={'train': ('train_mini', 'train_mini.tar.gz'), 'val': ('val', 'val.tar.gz')},
        source=_inat_url('2021')),
)


def read_json(path: pathlib.Path, json_name: str) -> dict:
  """A JSON file given plainly or inside its archive (.zip / .tar.gz)."""
  if archives.is_archive(path):
    return json.loads(archives.read_single_member(path, json_name))
  return json.loads(archives.read_confined(path.parent, path))


def _unique_names(keys: Sequence[tuple[str, ...]]) -> list[str]:
  # A taxon is its path from the root; show its own name unless another path shares it.
  counts = collections.Counter(key[-1] for key in keys)
  return [key[-1] if counts[key[-1]] == 1 else '/'.join(key) for key in keys]


def taxonomy_table(categories: Sequence[Mapping], ranks: Sequence[str]) -> dict:
  """Hierarchy JSON of the categories (fine ids = category ids), one level per rank."""
  by_id = {int(c['id']): c for c in categories}
  if sorted(by_id) != list(range(len(by_id))):
    raise errors.UserError('inaturalist: category ids are not 0..N-1; is this an official JSON?')
  cats = [by_id[i] for i in range(len(by_id))]
  absent = sorted({r for r in (*ranks, 'name') for c in cats if r not in c})
  if absent:
    raise errors.UserError(f'inaturalist: the categories lack {absent}; is the config year '
                           'the year of the files in the manual dir?')
  taxonomy = [r for r in ranks if r != SUPERCATEGORY]
  levels, classes, ancestors = [], {}, {}
  for rank in ranks:
    path = ((rank,) if rank == SUPERCATEGORY
            else tuple(taxonomy[:taxonomy.index(rank) + 1]))
    keys = [tuple(str(c[r]) for r in path) for c in cats]
    level_keys = sorted(set(keys))
    index = {k: i for i, k in enumerate(level_keys)}
    levels.append(rank)
    classes[rank] = _unique_names(level_keys)
    ancestors[rank] = [index[k] for k in keys]
  levels.append(hierarchy.FINE_LEVEL)
  classes[hierarchy.FINE_LEVEL] = _category_names(cats)
  ancestors[hierarchy.FINE_LEVEL] = list(range(len(cats)))
  animal = [i for i, c in enumerate(cats)
            if str(c[SUPERCATEGORY]) not in NON_ANIMAL_SUPERCATEGORIES]
  resolved = [i for i, c in enumerate(cats) if UNRESOLVED not in (c[r] for r in taxonomy)]
  return {'levels': levels, 'classes': classes, 'ancestors': ancestors,
          'groups': {'animal': animal,
                     'non_animal': sorted(set(range(len(cats))) - set(animal)),
                     'resolved': resolved}}


def _kingdom(supercategory: str) -> str:
  return supercategory if supercategory in KINGDOM_SUPERCATEGORIES else 'Animalia'


def with_taxonomy(categories: Sequence[Mapping], taxonomy: Sequence[Mapping] | None
                  ) -> list[dict]:
  """2017 categories with kingdom..genus: genus from the name, the rest by name from `taxonomy`.

  `taxonomy`: categories carrying every rank (2021's); None: nothing above genus resolves.
  """
  above_genus = TAXONOMY[:-1]
  by_name, by_genus = {}, collections.defaultdict(set)
  for t in taxonomy or ():
    path = tuple(str(t[r]) for r in TAXONOMY)
    by_name[str(t['name'])] = path
    by_genus[path[-1]].add(path)
  out = []
  for c in categories:
    genus = str(c['name']).split()[0]
    path = by_name.get(str(c['name']))
    if path is None:
      kingdom = _kingdom(str(c[SUPERCATEGORY]))
      paths = {p for p in by_genus.get(genus, ()) if p[0] == kingdom}
      path = paths.pop() if len(paths) == 1 else (UNRESOLVED,) * len(above_genus) + (genus,)
    out.append({**c, **dict(zip(TAXONOMY, path))})
  resolved = sum(UNRESOLVED not in (c[r] for r in above_genus) for c in out)
  logging.info('inaturalist: ranks of %d of %d species resolved%s.', resolved, len(out),
               '' if taxonomy else ' (no 2021 taxonomy file in the manual dir)')
  return out


def _category_names(cats: Sequence[Mapping]) -> list[str]:
  # ClassLabel names must be unique; a repeated name gets its category id appended.
  names = [str(c['name']) for c in cats]
  counts = collections.Counter(names)
  return [n if counts[n] == 1 else f'{n} ({c["id"]})' for n, c in zip(names, cats)]


class Inaturalist(ArrayRecordBuilder):
  """iNaturalist competitions with the full taxonomy of each year as label features."""

  VERSION = tfds.core.Version('1.1.0')
  RELEASE_NOTES = {'1.0.0': 'All taxonomy ranks as label features; hierarchy.json.',
                   '1.1.0': 'Group `resolved`; 2017: kingdom..genus from the name and 2021.'}
  BUILDER_CONFIGS = list(CONFIGS)
  DEFAULT_CONFIG_NAME = '2021_mini'
  MANUAL_DOWNLOAD_INSTRUCTIONS = (
      'Put the official iNaturalist competition files of the chosen year (annotation JSON '
      'files or their .zip/.tar.gz, and the image archives or their extracted folders) into '
      'the manual dir: 2017: train_val2017.zip, train_val_images.tar.gz (and 2021\'s '
      'val.json.tar.gz for the ranks above genus); 2018: '
      'train2018.json.tar.gz, val2018.json.tar.gz, train_val2018.tar.gz (optional '
      'categories.json.tar.gz); 2021: train.json.tar.gz, val.json.tar.gz, train.tar.gz, '
      'val.tar.gz (2021_mini: train_mini.* instead of train.*). Source: '
      'https://github.com/visipedia/inat_comp')

  def _info(self) -> tfds.core.DatasetInfo:
    labels = {f'label_{rank}': tfds.features.ClassLabel() for rank in self.builder_config.ranks}
    return tfds.core.DatasetInfo(
        builder=self,
        description=__doc__,
        features=tfds.features.FeaturesDict({
            'image': tfds.features.Image(),
            'label': tfds.features.ClassLabel(),
            **labels,
            'image_id': tfds.features.Scalar(dtype=np.int64),
            'file_name': tfds.features.Text(),
        }),
        supervised_keys=('image', 'label'),
        homepage=self.builder_config.source,
        metadata=builders.HierarchyMetadata(),
    )

  def manual_files(self) -> archives.ManualFiles:
    """The annotations of every split, then their images (each: plain file/folder or archive)."""
    config = self.builder_config
    splits = sorted(config.annotations)
    return archives.ManualFiles(
        f'inaturalist/{config.name}',
        [config.annotations[s] for s in splits] + [config.images[s] for s in splits],
        config.source)

  def _split_generators(self, dl_manager):
    config = self.builder_config
    manual_dir = archives.manual_dir_of(dl_manager)
    splits = sorted(config.annotations)
    found = self.manual_files().require(manual_dir)
    annotation_files = dict(zip(splits, found[:len(splits)]))
    image_sources = {s: (p if archives.is_archive(p) else manual_dir)
                     for s, p in zip(splits, found[len(splits):])}
    annotations = {s: read_json(annotation_files[s], config.annotations[s][0]) for s in splits}
    categories = self._categories(manual_dir, annotations['train']['categories'])
    if config.taxonomy is not None:
      categories = with_taxonomy(categories, self._taxonomy(manual_dir))
    table = taxonomy_table(categories, config.ranks)
    self.info.features['label'].names = table['classes']['label']
    for rank in config.ranks:
      self.info.features[f'label_{rank}'].names = table['classes'][rank]
    self.info.metadata[builders.HIERARCHY_KEY] = table  # also saved as hierarchy.json
    self.info.metadata[images.SKIPPED_KEY] = []
    self.info.metadata[images.NUM_SKIPPED_KEY] = 0
    return {s: self._generate_examples(image_sources[s], annotations[s], table, s)
            for s in splits}

  def _categories(self, manual_dir: pathlib.Path, categories: list[dict]) -> list[dict]:
    """The JSON's categories, or the un-obfuscated list when the config has one present."""
    names = self.builder_config.categories
    if names is None:
      return categories
    present = [manual_dir / n for n in names if (manual_dir / n).exists()]
    if not present:
      return categories
    plain = {int(c['id']): c for c in read_json(present[0], names[0])}
    return [{**c, **plain.get(int(c['id']), {})} for c in categories]

  def _taxonomy(self, manual_dir: pathlib.Path) -> list[dict] | None:
    """The categories of the optional taxonomy file, None when it is absent."""
    names = self.builder_config.taxonomy
    present = [manual_dir / n for n in names if (manual_dir / n).exists()]
    return read_json(present[0], names[0])['categories'] if present else None

  def _generate_examples(self, source, annotations, table, split):
    ranks = self.builder_config.ranks
    category_of = {a['image_id']: a['category_id'] for a in annotations['annotations']}
    by_name = {im['file_name']: im['id'] for im in annotations['images']
               if im['id'] in category_of}
    for name, data in archives.iter_files(source, by_name):
      try:
        image = images.checked_image(data)
      except images.CorruptImageError as e:
        images.record_skipped(self.info.metadata, split, name, str(e))
        continue
      category = int(category_of[by_name[name]])
      labels = {f'label_{r}': table['ancestors'][r][category] for r in ranks}
      yield name, {'image': image, 'label': category, **labels,
                   'image_id': int(by_name[name]), 'file_name': name}
