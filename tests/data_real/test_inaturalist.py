"""`inaturalist` built from the official 2017/2018/2021 file layouts, taxonomy kept."""
import json

import pytest
import tensorflow_datasets as tfds

from jaxrobust.datasets import archives
from jaxrobust.datasets import hierarchy
from jaxrobust.datasets import subsets
from tests.helpers.real_formats import INAT_TAXA, INAT_TRAIN, INAT_VAL, RANKS, build_dataset

TAXON_FEATURES = tuple(f'label_{r}' for r in RANKS)


@pytest.fixture(scope='module')
def built_2021_mini(inat2021_manual, tmp_path_factory):
  data_dir = tmp_path_factory.mktemp('inat2021_data')
  return build_dataset('inaturalist/2021_mini', inat2021_manual, data_dir), data_dir


def _records(data_dir, name, split):
  source = tfds.data_source(name, data_dir=str(data_dir), split=split)
  return [source[i] for i in range(len(source))]


def _feature_name(builder, feature, value):
  return builder.info.features[feature].names[int(value)]


def test_2021_mini_split_sizes_skip_the_truncated_train_image(built_2021_mini):
  builder, _ = built_2021_mini
  assert builder.info.splits['train'].num_examples == sum(n for _, n in INAT_TRAIN) - 1
  assert builder.info.splits['val'].num_examples == sum(n for _, n in INAT_VAL)
  assert builder.info.metadata['num_skipped_images'] == 1
  assert builder.info.metadata['skipped_images'][0]['file'].startswith('train_mini/00003_')


def test_2021_every_rank_label_names_the_taxon_of_the_species(built_2021_mini):
  builder, data_dir = built_2021_mini
  records = _records(data_dir, 'inaturalist/2021_mini', 'val')
  assert len(records) == 2
  for record in records:
    taxon = INAT_TAXA[int(record['label'])]
    assert _feature_name(builder, 'label', record['label']) == f'{taxon[5]} {taxon[6]}'
    assert _feature_name(builder, 'label_supercategory',
                         record['label_supercategory']) == taxon[7]
    for rank, value in zip(RANKS[:-1], taxon[:5]):
      assert _feature_name(builder, f'label_{rank}', record[f'label_{rank}']) == value
    assert record['image'].shape == (30, 40 + int(record['image_id']), 3)


def test_2021_homonym_genera_stay_distinct_taxa(built_2021_mini):
  builder, _ = built_2021_mini
  genera = builder.info.features['label_genus'].names
  assert sorted(genera) == sorted([
      'Animalia/Chordata/Aves/Passeriformes/Prunellidae/Prunella', 'Turdus', 'Vanessa',
      'Plantae/Tracheophyta/Magnoliopsida/Lamiales/Lamiaceae/Prunella'])
  assert builder.info.features['label_kingdom'].names == ['Animalia', 'Plantae']


def test_2021_hierarchy_json_matches_the_label_features(built_2021_mini):
  builder, data_dir = built_2021_mini
  tree = hierarchy.load_hierarchy('inaturalist/2021_mini', data_dir=str(data_dir))
  assert tree.levels == ('supercategory',) + RANKS + ('label',)
  assert tree.to_json() == builder.info.metadata['hierarchy']
  for record in _records(data_dir, 'inaturalist/2021_mini', 'train'):
    for level in tree.levels[:-1]:
      assert tree.ancestors[level][int(record['label'])] == int(record[f'label_{level}'])
  assert list(tree.groups['animal']) == [0, 1, 2] and list(tree.groups['non_animal']) == [3]
  assert list(tree.groups['resolved']) == [0, 1, 2, 3]  # 2021 names every rank


def test_2017_keeps_its_files_layout_and_derives_the_genus_from_the_name(inat2017_manual,
                                                                         tmp_path):
  builder = build_dataset('inaturalist/2017', inat2017_manual, tmp_path)
  features = builder.info.features
  assert features['label_supercategory'].names == ['Aves', 'Insecta', 'Plantae']
  assert {s: builder.info.splits[s].num_examples for s in ('train', 'val')} == {
      'train': 6, 'val': 2}
  for record in _records(tmp_path, 'inaturalist/2017', 'train'):
    name = _feature_name(builder, 'label', record['label'])
    assert record['file_name'].decode().split('/')[2] == name
    assert _feature_name(builder, 'label_genus', record['label_genus']) == name.split()[0]
  # Without 2021's taxonomy nothing above genus is known: one `unresolved` taxon per rank.
  for rank in RANKS[:-1]:
    assert features[f'label_{rank}'].names == ['unresolved']
  tree = hierarchy.load_hierarchy('inaturalist/2017', data_dir=str(tmp_path))
  assert list(tree.groups['resolved']) == []
  assert list(tree.groups['animal']) == [0, 1, 2]


@pytest.fixture(scope='module')
def built_2017_taxonomy(inat2017_taxonomy_manual, tmp_path_factory):
  data_dir = tmp_path_factory.mktemp('inat2017_taxonomy_data')
  builder = build_dataset('inaturalist/2017', inat2017_taxonomy_manual, data_dir)
  return builder, data_dir


def test_2017_ranks_come_from_2021_by_species_then_by_genus_in_its_kingdom(built_2017_taxonomy):
  builder, data_dir = built_2017_taxonomy
  tree = hierarchy.load_hierarchy('inaturalist/2017', data_dir=str(data_dir))
  family = [tree.classes['family'][a] for a in tree.ancestors['family']]
  # Prunella modularis (by genus, the animal Prunella), Turdus merula (no match), Vanessa
  # atalanta (by genus), Prunella vulgaris (by name).
  assert family == ['Prunellidae', 'unresolved', 'Nymphalidae', 'Lamiaceae']
  kingdom = [tree.classes['kingdom'][a] for a in tree.ancestors['kingdom']]
  assert kingdom == ['Animalia', 'unresolved', 'Animalia', 'Plantae']
  assert list(tree.groups['resolved']) == [0, 2, 3]
  assert tree.to_json() == builder.info.metadata['hierarchy']


def test_2017_levels_label_every_record_with_its_species_taxa(built_2017_taxonomy):
  builder, data_dir = built_2017_taxonomy
  tree = hierarchy.load_hierarchy('inaturalist/2017', data_dir=str(data_dir))
  assert tree.levels == ('supercategory',) + RANKS + ('label',)
  records = _records(data_dir, 'inaturalist/2017', 'train') + _records(
      data_dir, 'inaturalist/2017', 'val')
  assert len(records) == 8
  for record in records:
    species = int(record['label'])
    for level in tree.levels[:-1]:
      assert tree.ancestors[level][species] == int(record[f'label_{level}'])
    if species in (0, 2, 3):
      taxon = INAT_TAXA[species]
      for rank, value in zip(RANKS, taxon[:6]):
        assert _feature_name(builder, f'label_{rank}', record[f'label_{rank}']).endswith(value)
  # The genus level keeps the two Prunella apart: one animal, one plant.
  assert sorted(n for n in tree.classes['genus'] if n.endswith('Prunella')) == [
      'Animalia/Chordata/Aves/Passeriformes/Prunellidae/Prunella',
      'Plantae/Tracheophyta/Magnoliopsida/Lamiales/Lamiaceae/Prunella']


def test_2018_uses_the_unobfuscated_categories_file_when_present(inat2018_manual, tmp_path):
  builder = build_dataset('inaturalist/2018', inat2018_manual, tmp_path)
  features = builder.info.features
  assert features['label'].names == [f'{t[5]} {t[6]}' for t in INAT_TAXA]
  # Taxa are ordered by their path from the kingdom down.
  assert features['label_family'].names == [
      'Nymphalidae', 'Prunellidae', 'Turdidae', 'Lamiaceae']
  assert builder.info.splits['val'].num_examples == 2
  stored = json.loads((tmp_path / 'inaturalist' / '2018' / '1.1.0' /
                       'hierarchy.json').read_text())
  assert stored['classes']['kingdom'] == ['Animalia', 'Plantae']


def test_missing_2021_files_are_all_named_with_manual_dir_and_source(tmp_path):
  manual = tmp_path / 'manual'
  manual.mkdir()
  (manual / 'val').mkdir()
  with pytest.raises(archives.MissingManualFileError) as info:
    build_dataset('inaturalist/2021', manual, tmp_path / 'data')
  message = str(info.value)
  for name in ('train.json', 'train.json.tar.gz', 'val.json.tar.gz', 'train.tar.gz'):
    assert name in message
  assert 'val.tar.gz' not in message  # The extracted val/ folder is there.
  assert str(manual) in message and 'github.com/visipedia/inat_comp' in message


def test_2017_granularity_subset_trains_the_resolved_species_at_a_derived_rank(
    built_2017_taxonomy):
  _, data_dir = built_2017_taxonomy
  name = subsets.materialize({'sources': [{'name': 'inaturalist/2017'}], 'label_level': 'family',
                              'class_filter': 'resolved'}, str(data_dir))
  records = _records(data_dir, name, 'train')
  # Species 0 (2 images), 2 (1) and 3 (2), relabelled 0, 1, 2; Turdus merula is left out.
  assert sorted(int(r['label']) for r in records) == [0, 0, 1, 2, 2]
  assert sorted({int(r['label_family']) for r in records}) == [0, 1, 2]
