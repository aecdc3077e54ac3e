"""Materialized subsets: TFDS datasets of copied records, reproducible from their manifest."""
import collections
import os
import shutil
import subprocess
import sys

import pytest
import tensorflow_datasets as tfds

from jaxrobust import errors
from jaxrobust.datasets import hierarchy as hierarchy_lib
from jaxrobust.datasets import subsets
from jaxrobust.datasets.subsets import spec as spec_lib
from tests.helpers.subsets import TOY, TOY_FLAT, spec

RAW_IMAGES = {'image': tfds.decode.SkipDecoding()}


def files_of(name: str, data_dir: str) -> dict[str, bytes]:
  root = subsets.subset_dir(name, data_dir)
  return {f: open(os.path.join(root, f), 'rb').read() for f in sorted(os.listdir(root))}


def read(name: str, data_dir: str, split: str = 'train'):
  return tfds.data_source(name, split=split, data_dir=data_dir, decoders=RAW_IMAGES)


def test_every_level_is_stored_and_matches_the_base_record(data_dir):
  name = subsets.materialize(spec(num_examples=48, label_level='mid'), data_dir)
  subset, base = read(name, data_dir), read(TOY, data_dir)
  sub_features = subset.dataset_info.features
  base_features = base.dataset_info.features
  assert len(subset) == 48
  for example in subset:
    original = base[example['base_index']]
    for key in ('label', 'label_mid', 'label_coarse'):
      assert (sub_features[key].int2str(example[key])
              == base_features[key].int2str(original[key]))
  assert collections.Counter(ex['label'] for ex in subset).most_common()[-1][1] == 2


def test_image_bytes_equal_the_base_bytes_of_the_same_record(data_dir):
  name = subsets.materialize(spec(num_classes=5, images_per_class=7), data_dir)
  subset, base = read(name, data_dir), read(TOY, data_dir)
  assert len(subset) == 35
  for example in subset:
    assert example['image'] == base[example['base_index']]['image']


def test_same_spec_and_seed_give_byte_identical_files(data_dir, base_dir, tmp_path):
  other = str(tmp_path / 'other')
  shutil.copytree(base_dir, other)
  name = subsets.materialize(spec(num_examples=60, seed=4), data_dir)
  assert subsets.materialize(spec(num_examples=60, seed=4), other) == name
  first = files_of(name, data_dir)
  assert any(f.startswith('subset-train.array_record') for f in first)
  assert first == files_of(name, other)


def test_other_seed_selects_other_records(data_dir):
  a = subsets.materialize(spec(num_examples=60, seed=0), data_dir)
  b = subsets.materialize(spec(num_examples=60, seed=1), data_dir)
  assert a != b
  assert ({ex['base_index'] for ex in read(a, data_dir)}
          != {ex['base_index'] for ex in read(b, data_dir)})


def test_nested_quantities_materialize_as_subsets(data_dir):
  small = subsets.materialize(spec(num_examples=30), data_dir)
  large = subsets.materialize(spec(num_examples=90), data_dir)
  assert ({ex['base_index'] for ex in read(small, data_dir)}
          < {ex['base_index'] for ex in read(large, data_dir)})


def test_label_levels_share_one_materialization(data_dir):
  names = {subsets.materialize(spec(num_examples=24, label_level=level), data_dir)
           for level in ('coarse', 'mid', None)}
  assert len(names) == 1
  configs = [d for d in os.listdir(os.path.join(data_dir, 'subset')) if not d.startswith('_')]
  assert len(configs) == 1


def test_manifest_alone_recreates_the_subset(data_dir, base_dir, tmp_path):
  name = subsets.materialize(spec(num_classes=4, images_per_class=6, class_filter='animal'),
                             data_dir)
  manifest_file = str(tmp_path / 'manifest.json')
  shutil.copy(os.path.join(subsets.subset_dir(name, data_dir), 'metadata.json'),
              manifest_file)
  fresh = str(tmp_path / 'fresh')
  shutil.copytree(base_dir, fresh)
  assert subsets.recreate(manifest_file, fresh) == name
  assert files_of(name, fresh) == files_of(name, data_dir)


def test_mixture_keeps_provenance_and_disjoint_label_spaces(data_dir):
  mixture = spec(num_examples=40, sources=[{'name': TOY, 'weight': 0.75},
                                           {'name': TOY_FLAT, 'weight': 0.25}])
  name = subsets.materialize(mixture, data_dir)
  subset = read(name, data_dir)
  features = subset.dataset_info.features
  assert collections.Counter(ex['source'] for ex in subset) == {0: 30, 1: 10}
  assert features['source'].names == [TOY, TOY_FLAT]
  assert 'label_coarse' not in features  # Only levels every source has are stored.
  for example in subset:
    class_name = features['label'].int2str(example['label'])
    assert class_name.startswith(features['source'].int2str(example['source']) + ':')


def test_subset_hierarchy_is_stored_beside_the_data(data_dir):
  name = subsets.materialize(spec(num_classes=6, images_per_class=3), data_dir)
  hierarchy = hierarchy_lib.load_hierarchy(name, data_dir)
  assert hierarchy.levels == ('coarse', 'mid', 'label') and hierarchy.num_fine == 6


def test_fresh_process_reads_the_subset_from_the_data_dir_alone(data_dir):
  name = subsets.materialize(spec(num_examples=24), data_dir)
  code = ('import sys, tensorflow_datasets as tfds; '
          'ds = tfds.data_source(sys.argv[1], split="train", data_dir=sys.argv[2]); '
          'print(len(ds), ds.dataset_info.metadata["manifest"]["name"], '
          'sorted(ds.dataset_info.features))')
  out = subprocess.run([sys.executable, '-c', code, name, data_dir], check=True,
                       capture_output=True, text=True, cwd=str(data_dir)).stdout
  assert out.split()[:2] == ['24', name]
  assert "'label_coarse'" in out and "'base_index'" in out


def test_describe_counts_examples_per_class_at_every_level(data_dir):
  name = subsets.materialize(spec(num_classes=3, images_per_class=5), data_dir)
  text = subsets.describe(name, data_dir)
  assert f'{name}: 15 examples' in text
  assert 'label ' in text and 'label_mid' in text and 'label_coarse' in text
  assert 'examples/class min 5 max 5' in text


def test_flat_base_gets_a_one_level_hierarchy(data_dir):
  name = subsets.materialize(spec(sources=[{'name': TOY_FLAT}], images_per_class=4), data_dir)
  features = read(name, data_dir).dataset_info.features
  assert features['label'].num_classes == 5 and 'label_mid' not in features


def test_unbuilt_base_says_how_to_build_it(data_dir):
  with pytest.raises(errors.DatasetNotBuiltError, match=r'sources\[0\]: dataset fractaldb/tiny '
                                                       'is not built in .*prepare'):
    subsets.materialize(spec(sources=[{'name': 'fractaldb/tiny'}]), data_dir)


def test_unknown_base_is_named(data_dir):
  with pytest.raises(errors.DatasetNotBuiltError, match=r'sources\[0\]: no_such_set is neither'):
    subsets.materialize(spec(sources=[{'name': 'no_such_set'}]), data_dir)


def test_level_missing_from_the_hierarchy_is_refused(data_dir):
  with pytest.raises(spec_lib.SpecError, match=r"label_level='genus'.*'coarse', 'mid', 'label'"):
    subsets.materialize(spec(num_examples=24, label_level='genus'), data_dir)


def test_impossible_quantity_is_refused_not_shrunk(data_dir):
  with pytest.raises(spec_lib.SpecError, match='images_per_class=17 .* largest feasible '
                                               'images_per_class is 10'):
    subsets.materialize(spec(images_per_class=17), data_dir)
  assert not os.path.exists(os.path.join(data_dir, 'subset', 'toy_hierarchy'))
