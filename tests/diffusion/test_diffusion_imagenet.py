"""diffusion_imagenet: generation, determinism, restart after a kill, missing model, subsets."""
import io
import json
import shutil

import numpy as np
from PIL import Image
import pytest
import tensorflow_datasets as tfds

from jaxrobust import errors
from jaxrobust.datasets import subsets
from jaxrobust.datasets.builders import diffusion_imagenet
from jaxrobust.datasets.diffusion import pipeline_dir, prompts, sampler, shards

from tests.diffusion.conftest import TINY, raw_images


def test_generates_every_class_the_configured_number_of_times_with_its_labels(tiny_dataset):
  config = tiny_dataset.builder_config
  source = tiny_dataset.as_data_source(split='train')
  rows = [source[i] for i in range(len(source))]
  labels = np.array([r['label'] for r in rows])
  np.testing.assert_array_equal(np.bincount(labels), [config.num_instances] * 3)
  tree = diffusion_imagenet.class_hierarchy(config)
  for row in rows:
    assert row['image'].shape == (32, 32, 3)
    assert int(row['label_tree_d2']) == tree.ancestors['tree_d2'][int(row['label'])]
  assert tree.classes['label'] == ('n01440764', 'n01443537', 'n01484850')


def test_metadata_records_the_knobs_and_the_pipeline_identity(tiny_dataset, tiny_pipeline_dir):
  generation = tiny_dataset.info.metadata['generation']
  assert generation['class_names'] == ['tench', 'goldfish', 'great white shark']
  assert generation['templates'] == list(prompts.DEFAULT_TEMPLATES)
  assert (generation['steps'], generation['image_size'], generation['dtype']) == (2, 32, 'float32')
  identity = pipeline_dir.pipeline_identity(tiny_pipeline_dir)
  assert generation['pipeline_identity'] == identity
  assert set(identity) == {'sha256', 'diffusers', 'torch', 'transformers'}


def test_the_same_seed_regenerates_the_image_and_another_seed_another_image(
    tiny_dataset, tiny_pipeline_dir):
  config = tiny_dataset.builder_config
  stored = np.asarray(Image.open(io.BytesIO(raw_images(tiny_dataset)['1_3'])), np.int32)
  settings = sampler.Settings(**{f: getattr(config, f) for f in diffusion_imagenet._SAMPLER_FIELDS},
                              dtype='float32')
  pipe = sampler.load_pipeline(tiny_pipeline_dir, settings, sampler.Runtime())
  text = prompts.prompt(config.templates, 'goldfish', 3)

  def difference(seed: int) -> np.ndarray:
    """|regenerated alone - stored|; the build sampled it in a batch of several."""
    pixels = sampler.sample(pipe, [text], [prompts.image_seed(seed, 1, 3)], settings)[0]
    return np.abs(pixels.astype(np.int32) - stored)

  # CPU kernels may round differently for another batch size (AVX-512 here): 1 level at most.
  assert difference(config.seed).max() <= 1
  assert difference(config.seed + 1).mean() > 10


def test_a_killed_generation_resumes_without_duplicate_or_missing_images(
    tiny_dataset, tiny_pipeline_dir, tmp_path, monkeypatch):
  real_sample, calls = sampler.sample, []

  def sample_then_die(*args):
    calls.append(1)
    if len(calls) == 3:  # during the third of three shards (5 + 5 + 2 images)
      raise KeyboardInterrupt('killed')
    return real_sample(*args)

  monkeypatch.setattr(sampler, 'sample', sample_then_die)
  builder = tfds.builder(TINY, data_dir=str(tmp_path), pipeline_dir=tiny_pipeline_dir)
  with pytest.raises(KeyboardInterrupt):
    builder.download_and_prepare()
  assert [s.index for s in builder.missing_shards()] == [2]
  (builder.shards_dir / 'train-00002.array_record.tmp999').write_bytes(b'half a shard')
  calls.clear()
  builder = tfds.builder(TINY, data_dir=str(tmp_path), pipeline_dir=tiny_pipeline_dir)
  builder.download_and_prepare()
  assert len(calls) == 1  # only the missing shard was generated again
  assert raw_images(builder) == raw_images(tiny_dataset)


def test_workers_take_disjoint_shards_that_cover_the_dataset():
  plan = shards.plan_shards({'train': range(4), 'test': range(4, 5)}, 3, shard_size=5)
  assert [(s.split, len(s.items)) for s in plan] == [('train', 5), ('train', 5), ('train', 2),
                                                     ('test', 3)]
  taken = [shards.worker_shards(plan, w, 3) for w in range(3)]
  items = [item for part in taken for shard in part for item in shard.items]
  assert len(items) == len(set(items)) == 15
  assert shards.worker_from_env({'SLURM_ARRAY_TASK_ID': '5', 'SLURM_ARRAY_TASK_COUNT': '4',
                                 'SLURM_ARRAY_TASK_MIN': '3'}) == (2, 4)
  assert shards.worker_from_env({}) == (0, 1)
  srun_task = {'SLURM_PROCID': '3', 'SLURM_NTASKS': '8', 'SLURM_STEP_NUM_TASKS': '8'}
  assert shards.worker_from_env(srun_task) == (3, 8)
  assert shards.worker_from_env({'SLURM_PROCID': '0', 'SLURM_NTASKS': '8'}) == (0, 1)  # sbatch


def test_resuming_with_other_settings_is_refused(tmp_path):
  shards.check_manifest(tmp_path, {'steps': 2, 'seed': 0})
  shards.check_manifest(tmp_path, {'steps': 2, 'seed': 0})
  with pytest.raises(errors.UserError, match=r'other steps \(steps: 2 now 50\); restore'):
    shards.check_manifest(tmp_path, {'steps': 50, 'seed': 0})


def test_a_missing_or_incomplete_pipeline_names_the_files_and_how_to_fetch_them(
    tiny_pipeline_dir, tmp_path):
  builder = tfds.builder('diffusion_imagenet/sd15', data_dir=str(tmp_path))
  with pytest.raises(pipeline_dir.MissingPipelineError,
                     match=r'--manual_dir\): .*stable-diffusion-v1-5 lacks model_index.json, '
                           r'unet/config.json.*; on a machine with network run `hf download'):
    builder.download_and_prepare()
  incomplete = tmp_path / 'incomplete'
  shutil.copytree(tiny_pipeline_dir, incomplete)
  (incomplete / 'unet' / 'diffusion_pytorch_model.safetensors').unlink()
  with pytest.raises(pipeline_dir.MissingPipelineError,
                     match=r'lacks unet/diffusion_pytorch_model.safetensors\|'
                           r'diffusion_pytorch_model.bin;'):
    pipeline_dir.require_pipeline(incomplete)


def test_a_subset_drawn_from_the_generated_images_copies_their_bytes(tiny_dataset):
  data_dir = str(tiny_dataset.data_dir_root)
  spec = {'sources': [{'name': TINY, 'split': 'train', 'weight': 1.0}], 'num_examples': None,
          'num_classes': 2, 'images_per_class': 3, 'label_level': 'tree_d7',
          'class_filter': None, 'diversity': None, 'seed': 0, 'nested': True}
  name = subsets.materialize(spec, data_dir)
  subset = tfds.builder(name, data_dir=data_dir)
  source = subset.as_data_source(split='train', decoders={'image': tfds.decode.SkipDecoding()})
  assert len(source) == 6
  assert {bytes(source[i]['image']) for i in range(6)} <= set(raw_images(tiny_dataset).values())
  manifest = json.loads((subset.data_path / 'metadata.json').read_text())
  assert TINY in json.dumps(manifest)
