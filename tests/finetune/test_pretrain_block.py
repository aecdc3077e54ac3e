"""result.json's `pretrain` block describes a subset pre-training from the subset's manifest,
and how many of the fine-tune dataset's classes its images include."""
import json
import os

from jaxrobust import runs
from jaxrobust.datasets import subsets
from jaxrobust.train import handoff
from jaxrobust.study import results

from tests.helpers import finetune as ff

SPEC = {'sources': [{'name': 'fractal_hierarchy/tiny', 'split': 'train', 'weight': 1.0}],
        'class_filter': ['level1_0', 'level1_1'],
        'diversity': {'level': 'level1', 'subclasses_per_superclass': 2,
                      'images_per_superclass': 8}}


def _materialized_subset_metadata(data_dir, spec=SPEC) -> str:
  """Writes the metadata a materialized subset carries (its manifest); returns its name."""
  name = subsets.subset_name(spec)
  folder = subsets.subset_dir(name, str(data_dir))
  os.makedirs(folder)
  labels = [i % ff.PRETRAIN_CLASSES for i in range(8 * ff.PRETRAIN_CLASSES)]
  manifest = {
      'format': 1, 'name': name, 'spec': subsets.as_spec(spec).to_json(), 'seed': 0,
      'sources': [{'name': 'fractal_hierarchy/tiny', 'split': 'train', 'version': '1.0.0',
                   'weight': 1.0, 'num_examples': len(labels)}],
      'records': {'source': [0] * len(labels), 'base_index': list(range(len(labels))),
                  'label': labels}}
  with open(os.path.join(folder, 'metadata.json'), 'w') as f:
    json.dump({'manifest': manifest}, f)
  with open(os.path.join(folder, 'dataset_info.json'), 'w') as f:
    json.dump({}, f)
  return name


def _subset_pretraining(pretrain_dir, tmp_path, spec=SPEC) -> handoff.PretrainedCheckpoint:
  """The checkpoint of `pretrain_dir` as if it had trained on the subset `spec` selects."""
  data_dir = tmp_path / 'tfds'
  config = runs.read_config(pretrain_dir / runs.CONFIG_FILE)
  config.data.name = _materialized_subset_metadata(data_dir, spec)
  config.data.label_key = 'label_level1'
  config.data.data_dir = str(data_dir)
  run_dir = tmp_path / 'runs' / 'pretrain-subset'
  runs.write_config(config, run_dir / runs.CONFIG_FILE)
  (run_dir / 'checkpoints').symlink_to(pretrain_dir / 'checkpoints')
  return handoff.find_checkpoint(str(run_dir))


def test_pretrain_block_of_a_subset_comes_from_its_manifest(pretrain_dir, tmp_path):
  block = results.pretrain_block(_subset_pretraining(pretrain_dir, tmp_path), ff.WILDCAM)
  assert block == {
      'source': 'fractal_hierarchy/tiny', 'num_examples': 8 * ff.PRETRAIN_CLASSES,
      'num_classes': ff.PRETRAIN_CLASSES, 'label_level': 'level1', 'images_per_class': 8,
      'diversity_ratio': 2, 'semantics': 'level1_0,level1_1', 'part': None,
      'arch': 'resnet_tiny',
      'seed': 0, 'steps': ff.PRETRAIN_STEPS,
      'target_classes_covered': 0, 'target_classes': 6}  # fractals hold no camera-trap animal


def test_pretrain_block_counts_the_benchmark_classes_its_subset_includes(pretrain_dir, tmp_path):
  # synthetic_wildcam/tiny's 6 classes are the 6 animal species of synthetic_nature/tiny.
  spec = {'sources': [{'name': 'synthetic_nature/tiny', 'split': 'train', 'weight': 1.0}],
          'num_classes': 5, 'images_per_class': 2, 'benchmark': ff.WILDCAM,
          'benchmark_classes': 'keep'}
  block = results.pretrain_block(_subset_pretraining(pretrain_dir, tmp_path, spec), ff.WILDCAM)
  assert (block['target_classes_covered'], block['target_classes']) == (5, 6)
  block = results.pretrain_block(_subset_pretraining(pretrain_dir, tmp_path / 'real', spec),
                                 'iwildcam/448')
  assert (block['target_classes_covered'], block['target_classes']) == (None, None)


def test_a_subset_drawn_from_one_part_says_which(pretrain_dir, tmp_path):
  checkpoint = _subset_pretraining(pretrain_dir, tmp_path, dict(SPEC, part=(1, 2)))
  assert results.pretrain_block(checkpoint, ff.WILDCAM)['part'] == '2/2'
