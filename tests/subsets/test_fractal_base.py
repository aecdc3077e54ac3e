"""The generated `fractal_hierarchy` source as a subset base (the offline studies' path)."""
import tensorflow_datasets as tfds

from jaxrobust.datasets import subsets

BASE = 'fractal_hierarchy/tiny'


def test_fractal_hierarchy_subset_keeps_its_tree_labels(tmp_path):
  data_dir = str(tmp_path)
  tfds.builder(BASE, data_dir=data_dir).download_and_prepare()
  spec = {'sources': [{'name': BASE, 'split': 'train', 'weight': 1.0}], 'num_classes': 4,
          'images_per_class': 5, 'label_level': 'level1'}
  name = subsets.materialize(spec, data_dir)
  assert subsets.label_key(spec) == 'label_level1'
  raw = {'image': tfds.decode.SkipDecoding()}
  subset = tfds.data_source(name, split='train', data_dir=data_dir, decoders=raw)
  base = tfds.data_source(BASE, split='train', data_dir=data_dir, decoders=raw)
  features, base_features = subset.dataset_info.features, base.dataset_info.features
  assert len(subset) == 20
  for example in subset:
    original = base[example['base_index']]
    assert example['image'] == original['image']
    for key in ('label', 'label_level1'):
      assert features[key].int2str(example[key]) == base_features[key].int2str(original[key])
