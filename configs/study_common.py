"""Shared pieces of the study configs: run templates per scale, subset specs, arg parsing.

A study config (configs/<study>.py) is `study_defaults(name, arg)` plus its settings:
  config.pretrain_settings.<name> = pretrain_setting(subset(...), **run field overrides)
  config.finetune_settings.<name> = run field overrides
  config.scratch_settings.<name>  = run field overrides

Args (comma-separated, e.g. `configs/quantity.py:local,epochs`):
  (none)  paper scale on the real datasets (ImageNet, iNaturalist, iWildCam-WILDS)
  local   the same family on generated data (fractal_hierarchy + synthetic_wildcam), CPU minutes
  test    with local: the smallest run of every stage (the test suite's variant)
  epochs  pre-train each setting for a fixed number of epochs instead of a fixed number of steps
"""
import os
import sys

import ml_collections

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # pylint: disable=g-import-not-at-top,wrong-import-position  (configs/common.py)

IMAGENET = 'imagenet2012'
INATURALIST = 'inaturalist/2021_mini'
FRACTALDB = 'fractaldb/1k'
IWILDCAM = 'iwildcam/448'
LOCAL_HIERARCHY = 'fractal_hierarchy/small'
LOCAL_FRACTALDB = 'fractaldb/small'
LOCAL_WILDCAM = 'synthetic_wildcam/small'
TEST_HIERARCHY = 'fractal_hierarchy/tiny'
TEST_WILDCAM = 'synthetic_wildcam/tiny'
# Levels of fractal_hierarchy, coarse -> fine (label features label_<level>; `label` = finest):
# small = 5 > 20 > 100 classes x 40 images, tiny = 2 > 6 classes x 10 images.
LOCAL_LEVELS = {'local': ('level1', 'level2', 'label'), 'test': ('level1', 'label')}
COARSE_LEVEL = 'level1'
LOCAL_IMAGES_PER_CLASS = {'local': 40, 'test': 10}
# WILDS splits: ID = id_test, OOD = test; id_val / val for model selection.
WILDCAM_EVAL_SPLITS = ('id_val', 'id_test', 'val', 'test')

_ARGS = ('local', 'test', 'epochs')


def parse_arg(arg: str | None) -> dict[str, bool]:
  """'local,test' -> {'local': True, 'test': True, 'epochs': False}; refuses unknown words."""
  words = [w.strip() for w in (arg or '').split(',') if w.strip()]
  unknown = [w for w in words if w not in _ARGS]
  if unknown:
    raise ValueError(f'Unknown config arg {unknown[0]!r}; use a comma-separated subset of '
                     f'{", ".join(_ARGS)} (e.g. configs/quantity.py:local).')
  flags = {w: w in words for w in _ARGS}
  if flags['test'] and not flags['local']:
    raise ValueError("Config arg 'test' shrinks the local variant: use 'local,test'.")
  return flags


def scale(flags: dict[str, bool]) -> str:
  """'paper' | 'local' | 'test'."""
  return 'test' if flags['test'] else 'local' if flags['local'] else 'paper'


def subset(*sources, **fields) -> ml_collections.ConfigDict:
  """A subset spec (jaxrobust.data.subsets): sources as names or (name, weight) pairs."""
  entries = []
  for s in sources:
    name, weight = (s, 1.0) if isinstance(s, str) else s
    entries.append({'name': name, 'split': 'train', 'weight': float(weight)})
  spec = ml_collections.ConfigDict({
      'sources': entries, 'num_examples': None, 'num_classes': None,
      'images_per_class': None, 'label_level': None, 'class_filter': None,
      'diversity': None, 'seed': 0, 'nested': True})
  for key, value in fields.items():
    if key not in spec:
      raise ValueError(f'{key} is not a subset spec field ({", ".join(spec)}).')
    spec[key] = value
  return spec


def diversity(level: str, subclasses_per_superclass: int,
              images_per_superclass: int) -> dict[str, object]:
  """The `diversity` field of a subset spec."""
  return {'level': level, 'subclasses_per_superclass': subclasses_per_superclass,
          'images_per_superclass': images_per_superclass}


def pretrain_setting(spec: ml_collections.ConfigDict, **overrides) -> ml_collections.ConfigDict:
  """One pre-training setting: its data and any run-field overrides."""
  setting = ml_collections.ConfigDict(overrides)
  setting.subset = spec
  return setting


def pretrain_template(kind: str) -> ml_collections.ConfigDict:
  """Pre-training recipe: SGD + cosine; steps fixed across settings (see docs/studies.md)."""
  c = common.run_defaults()
  c.kind = 'pretrain'
  c.data.eval_splits = ()
  c.optimizer.name = 'sgd'
  c.optimizer.schedule = 'cosine'
  if kind == 'paper':    # ResNet-50 at 224 px, ImageNet recipe, 100k steps of 256.
    c.model.name, c.model.dtype = 'resnet50', 'bfloat16'
    c.data.image_size = 224
    c.data.num_workers = 8
    c.batch_size = 256
    c.num_train_steps = 100_000
    c.optimizer.learning_rate = 0.1
    c.optimizer.weight_decay = 1e-4
    c.optimizer.warmup_steps = 2_500
    c.checkpoint_every_steps = 2_000
    c.log_every_steps = 100
  elif kind == 'local':  # A tiny ResNet (16/32 channels) at 32 px: ~30 s per setting on a CPU.
    c.model.name, c.model.stem, c.model.width = 'resnet_tiny', 'small', 2.0
    c.data.image_size = 32
    # At 32 px a random-resized crop cuts most of a fractal away; a plain resize (+ flip)
    # learns the fractal classes about twice as fast in this budget.
    c.data.train_preprocess = 'resize'
    c.batch_size = 32
    c.num_train_steps = 600
    c.optimizer.learning_rate = 0.1
    c.optimizer.weight_decay = 5e-4
    c.optimizer.warmup_steps = 20
    c.checkpoint_every_steps = 200
  else:                  # test: every stage runs, nothing is learned.
    c.model.name, c.model.stem = 'resnet_tiny', 'small'
    c.data.image_size = 16
    c.batch_size = 8
    c.eval_batch_size = 32
    c.num_train_steps = 3
    c.optimizer.learning_rate = 0.05
    c.checkpoint_every_steps = 1000  # one save, at the end
    c.log_every_steps = 1
  return c


def finetune_template(kind: str) -> ml_collections.ConfigDict:
  """Fine-tune recipe: WILDS ERM for iWildCam (Adam 3e-5, wd 0, batch 16, 12 epochs, 448 px)."""
  c = common.run_defaults()
  c.kind = 'finetune'
  c.data.eval_splits = WILDCAM_EVAL_SPLITS
  c.data.train_preprocess = 'resize'   # WILDS: plain square resize, no augmentation
  c.data.eval_preprocess = 'resize'
  c.data.augment_flip = False
  c.data.normalization = 'imagenet'
  c.optimizer.name = 'adam'
  c.optimizer.weight_decay = 0.0
  c.optimizer.schedule = 'constant'
  c.optimizer.warmup_steps = 0
  c.init.dont_load = ('head/.*',)
  if kind == 'paper':
    c.model.dtype = 'bfloat16'
    c.data.name = IWILDCAM
    c.data.image_size = 448
    c.data.num_workers = 8
    c.batch_size = 16
    c.eval_batch_size = 64
    c.num_epochs = 12.0
    c.optimizer.learning_rate = 3e-5
    c.checkpoint_every_steps = 2_000
    c.log_every_steps = 100
  elif kind == 'local':  # Same recipe shape at CPU size; 3e-5 is too slow for a few hundred steps.
    c.data.name = LOCAL_WILDCAM
    c.data.image_size = 32
    c.batch_size = 32
    c.num_epochs = 3.0
    c.optimizer.learning_rate = 1e-3
    c.checkpoint_every_steps = 50
  else:
    c.data.name = TEST_WILDCAM
    c.data.image_size = 16
    c.batch_size = 8
    c.eval_batch_size = 32
    c.num_train_steps = 2
    c.optimizer.learning_rate = 1e-3
    c.checkpoint_every_steps = 1000  # one save, at the end
    c.log_every_steps = 1
  return c


def scratch_template(kind: str) -> ml_collections.ConfigDict:
  """Scratch baselines: the fine-tune recipe from random initialization."""
  c = finetune_template(kind)
  c.kind = 'scratch'
  c.init.model_init = None
  if kind == 'local':
    c.model.name, c.model.stem = 'resnet_tiny', 'small'
  elif kind == 'test':
    c.model.name, c.model.stem = 'resnet_tiny', 'small'
  return c


def finetune_settings(kind: str) -> ml_collections.ConfigDict:
  """The fine-tune sweep every pre-trained model goes through (learning rate x seed)."""
  s = ml_collections.ConfigDict()
  if kind == 'paper':
    for lr_name, lr in (('lr3e5', 3e-5), ('lr1e4', 1e-4)):
      for seed in (0, 1):
        s[f'{lr_name}_s{seed}'] = {'optimizer': {'learning_rate': lr}, 'seed': seed}
  elif kind == 'local':
    s.lr1e3 = {'optimizer': {'learning_rate': 1e-3}}
    s.lr3e4 = {'optimizer': {'learning_rate': 3e-4}}
  else:
    s.lr1e3 = {'optimizer': {'learning_rate': 1e-3}}
  return s


def scratch_settings(kind: str) -> ml_collections.ConfigDict:
  """The baseline models whose ID/OOD trend effective robustness is measured against."""
  s = ml_collections.ConfigDict()
  if kind == 'paper':
    archs = ('resnet18', 'resnet50', 'densenet121', 'mobilenet_v3_large', 'mobilenet_v3_small',
             'alexnet')
    for arch in archs:
      for lr_name, lr in (('lr3e5', 3e-5), ('lr1e4', 1e-4), ('lr3e4', 3e-4)):
        s[f'{arch}_{lr_name}'] = {'model': {'name': arch}, 'optimizer': {'learning_rate': lr}}
    for epochs in (6, 24):  # shorter / longer training moves models along the trend
      s[f'resnet50_lr1e4_ep{epochs}'] = {'model': {'name': 'resnet50'}, 'num_epochs': epochs,
                                         'optimizer': {'learning_rate': 1e-4}}
    for seed in (1, 2):
      s[f'resnet50_lr1e4_s{seed}'] = {'model': {'name': 'resnet50'}, 'seed': seed,
                                      'optimizer': {'learning_rate': 1e-4}}
  elif kind == 'local':
    grid = (('w05_lr1e3', 0.5, 1e-3, 3.0), ('w05_lr3e4', 0.5, 3e-4, 3.0),
            ('w1_lr1e3', 1.0, 1e-3, 3.0), ('w1_lr3e3', 1.0, 3e-3, 3.0),
            ('w1_lr1e3_ep1', 1.0, 1e-3, 1.0), ('w2_lr1e3', 2.0, 1e-3, 3.0))
    for name, width, lr, epochs in grid:
      s[name] = {'model': {'width': width}, 'num_epochs': epochs,
                 'optimizer': {'learning_rate': lr}}
  else:
    for name, lr, seed in (('lr1e3', 1e-3, 0), ('lr3e3', 3e-3, 0), ('lr1e3_s1', 1e-3, 1)):
      s[name] = {'optimizer': {'learning_rate': lr}, 'seed': seed}
  return s


def study_defaults(study: str, arg: str | None, description: str) -> ml_collections.ConfigDict:
  """A study config without pre-training settings: templates, sweeps, analysis options."""
  flags = parse_arg(arg)
  kind = scale(flags)
  c = ml_collections.ConfigDict()
  c.study = study
  c.description = description
  c.scale = kind
  c.data_dir = ml_collections.config_dict.placeholder(str)  # None: TFDS default (TFDS_DATA_DIR)
  # 'steps': every pre-training setting runs pretrain.num_train_steps, so quantity is not
  # confounded with compute; 'epochs': each runs pretrain_epochs over its own data.
  c.pretrain_length = 'epochs' if flags['epochs'] else 'steps'
  c.pretrain_epochs = {'paper': 90.0, 'local': 30.0, 'test': 1.0}[kind]
  c.pretrain = pretrain_template(kind)
  c.finetune = finetune_template(kind)
  c.scratch = scratch_template(kind)
  c.pretrain_settings = ml_collections.ConfigDict()
  c.finetune_settings = finetune_settings(kind)
  c.scratch_settings = scratch_settings(kind)
  c.analysis = ml_collections.ConfigDict()
  c.analysis.metric = 'macro_f1'     # | 'accuracy'
  c.analysis.transform = 'logit'     # | 'probit' | 'identity'
  c.analysis.group_by = ()           # pretrain.* columns; () = those that differ
  return c


def sources_for(kind: str) -> dict[str, str]:
  """The datasets a study family uses at this scale."""
  if kind == 'paper':
    return {'hierarchy': IMAGENET, 'taxonomy': INATURALIST, 'fractaldb': FRACTALDB}
  if kind == 'local':
    return {'hierarchy': LOCAL_HIERARCHY, 'taxonomy': LOCAL_HIERARCHY,
            'fractaldb': LOCAL_FRACTALDB}
  return {'hierarchy': TEST_HIERARCHY, 'taxonomy': TEST_HIERARCHY, 'fractaldb': 'fractaldb/tiny'}


def local_semantic_groups(kind: str) -> dict[str, list[str]]:
  """Two disjoint halves of fractal_hierarchy's top-level classes (the offline 'semantics').

  The coarsest classes are named c0, c1, ... and each is also a group of its fine classes.
  """
  roots = {'local': 4, 'test': 2}[kind]  # of small's 5 and tiny's 2, an even number
  names = [f'c{i}' for i in range(roots)]
  return {'first_half': names[:roots // 2], 'second_half': names[roots // 2:]}
