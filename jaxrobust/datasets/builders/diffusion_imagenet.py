"""`diffusion_imagenet`: text-to-image pre-training images of class prompts (Stable Diffusion).

For each fine class of a class list (default: ImageNet-1k's 1000 wnids, named by their
WordNet 3.0 lemmas, `jaxrobust/datasets/wordnet/imagenet2012_names.tsv`; or any Hierarchy JSON
file's classes) it generates `num_instances` images (`test_instances` more in split `test`)
with a local diffusers pipeline in PyTorch. Image `instance` of class `fine` is prompted with
template `instance % len(templates)` and seeded with `prompts.image_seed(seed, fine, instance)`,
so any single image can be regenerated (bit-identically in the same batch; alone, to within
one level where the CPU's kernels round differently for another batch size). Labels: `label`
and `label_<level>` for every level of the class list's hierarchy (stored as hierarchy.json
too), as the other hierarchical builders.

The pipeline is never downloaded: config field `pipeline` names a folder of the manual dir
(`--manual_dir`, default `<data_dir>/downloads/manual`), or `--pipeline_dir` gives the folder;
`random-tiny` / `random-sd15` are randomly initialized pipelines built here offline (tests,
the CPU study). Generation is cut into shards (`jaxrobust.datasets.diffusion.shards`): workers take
disjoint shards and a restarted worker makes only the missing ones; the build assembles the
shards into array_record (encoded JPEG/PNG, never re-encoded). The metadata (`generation`)
records every knob, the resolved dtype and the pipeline identity (SHA-256 of its model files,
diffusers/torch/transformers versions).
"""
from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import shutil

from absl import logging
import tensorflow_datasets as tfds

from jaxrobust import errors
from jaxrobust.datasets import archives
from jaxrobust.datasets import hierarchy as hierarchy_lib
from jaxrobust.datasets.builders import (ArrayRecordBuilder, hierarchy_info, instance_splits,
                                     level_labels)
from jaxrobust.datasets.diffusion import pipeline_dir as pipeline_lib
from jaxrobust.datasets.diffusion import prompts
from jaxrobust.datasets.diffusion import shards as shards_lib

NAME = 'diffusion_imagenet'
RANDOM_PREFIX = 'random-'      # + a `jaxrobust.datasets.diffusion.random_pipeline.KINDS` entry
_SHARDS_DIR = '_shards'        # <data_dir>/diffusion_imagenet/_shards/<config>/<version>
_PIPELINES_DIR = '_pipelines'  # <data_dir>/diffusion_imagenet/_pipelines/random-<kind>
_SAMPLER_FIELDS = ('templates', 'negative_prompt', 'guidance_scale', 'steps', 'scheduler',
                   'image_size', 'seed', 'image_format', 'jpeg_quality')


@dataclasses.dataclass(eq=False)
class DiffusionConfig(tfds.core.BuilderConfig):
  """Every knob of one text-to-image source (defaults: Stable Diffusion v1.5's own)."""
  pipeline: str = 'stable-diffusion-v1-5'  # manual-dir folder, or random-tiny / random-sd15
  classes: str = 'imagenet2012'            # a dataset with a committed hierarchy, or a file
  num_classes: int = 0                     # the first N classes of the list (0: all)
  num_instances: int = 150                 # train images per class
  test_instances: int = 0                  # held-out images per class (split `test`)
  templates: tuple[str, ...] = prompts.DEFAULT_TEMPLATES
  negative_prompt: str = prompts.DEFAULT_NEGATIVE_PROMPT
  guidance_scale: float = 7.5
  steps: int = 50
  scheduler: str = ''                      # '' = the pipeline's; else a diffusers class name
  image_size: int = 512
  dtype: str = 'auto'                      # auto: float16 on GPU, float32 on CPU
  image_format: str = 'jpeg'
  jpeg_quality: int = 90
  seed: int = 0
  shard_size: int = 64                     # images per shard (the unit of restart)


CONFIGS = (
    DiffusionConfig(name='sd15', description='Paper scale: Stable Diffusion v1.5, ImageNet-1k '
                    'classes x 150 at 512 px (150,000 images), 50 PNDM steps, guidance 7.5.'),
    # A random pipeline's images mean nothing: the cheapest sampling (1 step, no guidance).
    DiffusionConfig(name='local', pipeline='random-tiny', num_classes=100, num_instances=30,
                    image_size=32, steps=1, guidance_scale=1.0, shard_size=250,
                    description='Offline studies: a random tiny pipeline, 100 ImageNet classes '
                    'x 30 at 32 px (plumbing, not a positive control).'),
    DiffusionConfig(name='tiny', pipeline='random-tiny', num_classes=3, num_instances=4,
                    image_size=32, steps=2, shard_size=5, image_format='png',
                    description='Tests: a random tiny pipeline, 3 classes x 4 at 32 px.'),
)


def class_hierarchy(config: DiffusionConfig) -> hierarchy_lib.Hierarchy:
  """The hierarchy of the config's class list (its first `num_classes` fine classes)."""
  if hierarchy_lib.has_committed_table(config.classes):
    tree = hierarchy_lib.load_hierarchy(config.classes)
  elif os.path.exists(config.classes):
    tree = hierarchy_lib.load_hierarchy_file(config.classes)
  else:
    raise errors.ConfigError(f'classes={config.classes!r} is neither imagenet2012 nor a '
                             'Hierarchy JSON file; give one of them.')
  if config.num_classes < 0 or config.num_classes > tree.num_fine:
    raise errors.ConfigError(f'num_classes={config.num_classes} must be in 0..{tree.num_fine} '
                             f'(the classes of {config.classes}).')
  return tree.restrict(range(config.num_classes)) if config.num_classes else tree


def generate_command(name: str, data_dir: str) -> str:
  """The command that generates dataset `name` (named by the study's --dry_run)."""
  config = name.split('/')[1] if '/' in name else CONFIGS[0].name
  needs_dir = not any(c.name == config and c.pipeline.startswith(RANDOM_PREFIX) for c in CONFIGS)
  return (f'python -m jaxrobust.datasets generate {name} --data_dir={data_dir}'
          + (' --pipeline_dir=<SD v1.5 diffusers dir> (GPUs: launch/diffusion.sbatch)'
             if needs_dir else ''))


class DiffusionImagenet(ArrayRecordBuilder):
  """Images a local text-to-image pipeline generated for class prompts, with their hierarchy."""

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'First release.'}
  BUILDER_CONFIGS = list(CONFIGS)
  DEFAULT_CONFIG_NAME = 'sd15'

  def __init__(self, *, pipeline_dir: str | None = None, runtime=None, **kwargs):
    """`pipeline_dir` overrides `<manual_dir>/<pipeline>`; `runtime` is a sampler.Runtime."""
    super().__init__(**kwargs)
    self._pipeline_dir = pipeline_dir
    self._runtime = runtime

  def _info(self) -> tfds.core.DatasetInfo:
    config = self.builder_config
    return hierarchy_info(self, class_hierarchy(config), config.image_size, config.image_format,
                          __doc__)

  def manual_files(self) -> pipeline_lib.ManualPipeline | None:
    """What `prepare` checks in the manual dir before building anything."""
    pipeline = self.builder_config.pipeline
    if pipeline.startswith(RANDOM_PREFIX) or self._pipeline_dir:
      return None
    return pipeline_lib.ManualPipeline(pipeline)

  @property
  def shards_dir(self) -> pathlib.Path:
    return (pathlib.Path(self.data_dir_root) / self.name / _SHARDS_DIR
            / self.builder_config.name / str(self.version))

  def shards(self) -> list[shards_lib.Shard]:
    """Every shard of the dataset, in assembly order."""
    config = self.builder_config
    return shards_lib.plan_shards(instance_splits(config.num_instances, config.test_instances),
                                  class_hierarchy(config).num_fine, config.shard_size)

  def pipeline_path(self, manual_dir: str | os.PathLike[str] | None = None) -> pathlib.Path:
    """The pipeline folder: --pipeline_dir, a random one (made here if absent), or the manual dir's."""
    pipeline = self.builder_config.pipeline
    if self._pipeline_dir:
      return pipeline_lib.require_pipeline(self._pipeline_dir)
    if pipeline.startswith(RANDOM_PREFIX):
      path = pathlib.Path(self.data_dir_root) / self.name / _PIPELINES_DIR / pipeline
      if not path.exists():
        _save_random_pipeline(pipeline[len(RANDOM_PREFIX):], path)
      return path
    manual_dir = manual_dir or pathlib.Path(self.data_dir_root) / 'downloads' / 'manual'
    return pipeline_lib.require_pipeline(pathlib.Path(manual_dir) / pipeline,
                                         field='--pipeline_dir (or --manual_dir)')

  def generate(self, worker: int = 0, num_workers: int = 1,
               manual_dir: str | os.PathLike[str] | None = None) -> None:
    """Makes this worker's missing shards (after checking the folder's generation.json)."""
    from jaxrobust.datasets.diffusion import sampler  # torch: only when generating
    config = self.builder_config
    prompts.check_templates(config.templates)
    runtime = self._runtime or sampler.Runtime()
    settings = sampler.Settings(
        **{f: getattr(config, f) for f in _SAMPLER_FIELDS},
        dtype=sampler.resolve_dtype(config.dtype, sampler.resolve_device(runtime.device)))
    path = self.pipeline_path(manual_dir)
    tree = class_hierarchy(config)
    names = prompts.human_names(tree.classes[hierarchy_lib.FINE_LEVEL])
    manifest = {**dataclasses.asdict(settings), 'templates': list(settings.templates),
                'classes': config.classes, 'class_names': names,
                'shard_size': config.shard_size, 'pipeline': config.pipeline,
                'pipeline_identity': pipeline_lib.pipeline_identity(path)}
    shards_lib.check_manifest(self.shards_dir, manifest)
    todo = shards_lib.worker_shards(self.shards(), worker, num_workers)
    if not all(shards_lib.is_done(self.shards_dir, s) for s in todo):
      pipe = sampler.load_pipeline(path, settings, runtime)
      made = sampler.generate_shards(pipe, todo, self.shards_dir, names, settings, runtime)
      logging.info('diffusion: worker %d/%d made %d shards in %s', worker, num_workers, made,
                   self.shards_dir)

  def missing_shards(self) -> list[shards_lib.Shard]:
    return [s for s in self.shards() if not shards_lib.is_done(self.shards_dir, s)]

  def _split_generators(self, dl_manager):
    manifest = self.shards_dir / shards_lib.MANIFEST
    if self.missing_shards() or not manifest.exists():  # else assemble, even without the model
      self.generate(manual_dir=archives.manual_dir_of(dl_manager))
    self.info.metadata['generation'] = json.loads(manifest.read_text())
    config = self.builder_config
    return {split: self._generate_examples(split)
            for split in instance_splits(config.num_instances, config.test_instances)}

  def _generate_examples(self, split: str):
    tree = class_hierarchy(self.builder_config)
    for shard in self.shards():
      if shard.split != split:
        continue
      for (fine, instance), image in zip(shard.items, shards_lib.read_shard(self.shards_dir,
                                                                            shard)):
        yield f'{fine}_{instance}', {'image': image, **level_labels(tree, fine),
                                     'instance': instance}


def _save_random_pipeline(kind: str, path: pathlib.Path) -> None:
  """A random pipeline of size `kind` saved at `path` (written beside it, then renamed)."""
  from jaxrobust.datasets.diffusion import random_pipeline  # torch: only when generating
  tmp = path.with_name(f'{path.name}.tmp{os.getpid()}')
  shutil.rmtree(tmp, ignore_errors=True)
  random_pipeline.save(kind, tmp)
  os.replace(tmp, path)
