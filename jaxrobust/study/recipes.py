"""Study recipes: what every study config starts from, one recipe per scale.

A study config (configs/<study>.py) is `study_defaults(name, arg)` plus its settings:
  config.pretrain_settings.<name> = pretrain_setting(subset(...), **run field overrides)
  config.finetune_settings.<name> = run field overrides
  config.scratch_settings.<name>  = run field overrides

Args (comma-separated, e.g. `configs/quantity.py:local,epochs`):
  (none)  paper scale on the real datasets (ImageNet, iNaturalist, iWildCam-WILDS)
  local   the same family on generated data (synthetic_nature + synthetic_wildcam), CPU minutes
  test    with local: the smallest run of every stage (the test suite's variant)
  epochs  pre-train each setting for a fixed number of epochs instead of a fixed number of steps

Each scale is one function below (`_paper`, `_local`, `_test`) that reads top to bottom: the
datasets, the pre-training, fine-tuning and scratch templates, and the sweeps. Every run starts
from jaxrobust.train.defaults.run_defaults().
"""
import ml_collections

from jaxrobust import config_args as args
from jaxrobust.study import benchmark
from jaxrobust.train import defaults

IMAGENET = 'imagenet2012'
INATURALIST = 'inaturalist/2017'  # the paper's release; see study_defaults: releases
FRACTALDB = 'fractaldb/1k'
DIFFUSION = 'diffusion_imagenet/sd15'   # Stable Diffusion v1.5 images of ImageNet's classes
IWILDCAM = 'iwildcam/448'
LOCAL_HIERARCHY = 'synthetic_nature/small'   # ImageNet's role offline
LOCAL_FRACTALDB = 'fractaldb/small'
LOCAL_DIFFUSION = 'diffusion_imagenet/local'  # a random tiny pipeline: plumbing, offline
LOCAL_WILDCAM = 'synthetic_wildcam/small'
TEST_HIERARCHY = 'synthetic_nature/tiny'
TEST_WILDCAM = 'synthetic_wildcam/tiny'
# Levels of synthetic_nature, coarse -> fine (label features label_<level>; `label` = finest):
# small = 5 > 20 > 100 classes x 60 images, tiny = 2 > 4 > 12 classes x 10 images.
LOCAL_LEVELS = {'local': ('level1', 'level2', 'label'), 'test': ('level1', 'label')}
COARSE_LEVEL = 'level1'
LOCAL_IMAGES_PER_CLASS = {'local': 60, 'test': 10}
LOCAL_IMAGE_SIZE = 24  # the generated 32 px images, resized (see _PRETRAIN['local'])


def parse_study_arg(arg: str | None) -> ml_collections.ConfigDict:
  """'local,test' -> {local: True, test: True, epochs: False}; refuses unknown words."""
  flags = args.parse_arg(arg, local=False, test=False, epochs=False)
  if flags.test and not flags.local:
    raise ValueError("Config arg 'test' shrinks the local variant: use 'local,test'.")
  return flags


def scale(flags: ml_collections.ConfigDict) -> str:
  """'paper' | 'local' | 'test'."""
  return 'test' if flags.test else 'local' if flags.local else 'paper'


def subset(*sources, **fields) -> ml_collections.ConfigDict:
  """A subset spec (jaxrobust.datasets.subsets): sources as names, (name, weight) pairs or
  {'name', 'split', 'weight'} dicts (split 'train' and weight 1 unless given)."""
  entries = []
  for s in sources:
    entry = ({'name': s} if isinstance(s, str) else dict(s) if isinstance(s, dict)
             else {'name': s[0], 'weight': s[1]})
    entries.append({'name': entry['name'], 'split': entry.get('split', 'train'),
                    'weight': float(entry.get('weight', 1.0))})
  spec = ml_collections.ConfigDict({
      'sources': entries, 'num_examples': None, 'num_classes': None,
      'images_per_class': None, 'label_level': None, 'class_filter': None,
      'min_images_per_class': None, 'diversity': None, 'seed': 0, 'nested': True,
      'benchmark': None, 'benchmark_classes': None, 'part': None})
  for key, value in fields.items():
    if key not in spec:
      raise ValueError(f'{key} is not a subset spec field ({", ".join(spec)}).')
    spec[key] = value
  return spec


def diversity(level: str, subclasses_per_superclass: int, images_per_superclass: int,
              max_ratio: int | None = None) -> dict[str, object]:
  """The `diversity` field of a subset spec."""
  field = {'level': level, 'subclasses_per_superclass': subclasses_per_superclass,
           'images_per_superclass': images_per_superclass}
  if max_ratio is not None:
    field['max_ratio'] = max_ratio
  return field


def pretrain_setting(spec: ml_collections.ConfigDict, *, pretrain_seeds: int | None = None,
                     **overrides) -> ml_collections.ConfigDict:
  """One pre-training setting: its data, any run-field overrides and, where it differs from the
  study's `pretrain_seeds`, how many times this setting is pre-trained."""
  setting = ml_collections.ConfigDict(overrides)
  setting.subset = spec
  if pretrain_seeds is not None:
    setting.pretrain_seeds = pretrain_seeds
  return setting


def _pretrain_base() -> ml_collections.ConfigDict:
  """Pre-training at every scale: SGD + cosine, no evaluation (see docs/studies.md)."""
  c = defaults.run_defaults()
  c.kind = 'pretrain'
  c.data.eval_splits = ()
  c.optimizer.name = 'sgd'
  c.optimizer.schedule = 'cosine'
  return c


def _finetune_base() -> ml_collections.ConfigDict:
  """Fine-tuning at every scale: the shape of WILDS' ERM recipe for iWildCam."""
  c = defaults.run_defaults()
  c.kind = 'finetune'
  # The validation splits are scored every epoch, the test splits only for a new best and the
  # last epoch (WILDS selection); which splits those are, the benchmark says (_with_benchmark).
  c.eval_every_epochs = 1.0
  c.data.train_preprocess = 'resize'   # WILDS: plain square resize, no augmentation
  c.data.eval_preprocess = 'resize'
  c.data.augment_flip = False
  c.data.normalization = 'imagenet'
  c.optimizer.name = 'adam'
  c.optimizer.weight_decay = 0.0
  c.optimizer.schedule = 'constant'
  c.optimizer.warmup_steps = 0
  c.init.dont_load = ('head/.*',)
  return c


def _with_benchmark(r: ml_collections.ConfigDict, name: str) -> ml_collections.ConfigDict:
  """Gives recipe `r` the benchmark `name` (WILDS' split names) and writes it into r.finetune."""
  r.benchmark = benchmark.block(name)
  benchmark.apply(r.finetune, r.benchmark)
  return r.finetune


def _scratch_from(finetune: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Scratch baselines: the fine-tune recipe from random initialization."""
  c = finetune.copy_and_resolve_references()
  c.kind = 'scratch'
  c.init.model_init = None
  return c


def _paper() -> ml_collections.ConfigDict:
  """Paper scale: ResNet-50 on ImageNet, iNaturalist, FractalDB or SD images; iWildCam-WILDS."""
  r = ml_collections.ConfigDict()
  r.sources = {'hierarchy': IMAGENET, 'taxonomy': INATURALIST, 'fractaldb': FRACTALDB,
               'diffusion': DIFFUSION}

  # Pre-training: ResNet-50 at 224 px, the ImageNet recipe, 100k steps of 256.
  p = r.pretrain = _pretrain_base()
  p.model.name = 'resnet50'
  p.model.dtype = 'bfloat16'
  p.data.image_size = 224
  p.data.num_workers = 8
  p.batch_size = 256
  p.num_train_steps = 100_000
  p.optimizer.learning_rate = 0.1
  p.optimizer.weight_decay = 1e-4
  p.optimizer.warmup_steps = 2_500
  p.checkpoint_every_steps = 2_000
  p.log_every_steps = 100
  r.pretrain_epochs = 90.0  # with the `epochs` arg

  # Fine-tuning: WILDS ERM for iWildCam (Adam, wd 0, batch 16, 12 epochs, 448 px), swept over
  # two learning rates and two seeds.
  r.finetune = _finetune_base()
  f = _with_benchmark(r, IWILDCAM)
  f.model.dtype = 'bfloat16'
  f.data.image_size = 448
  f.data.num_workers = 8
  f.batch_size = 16
  f.eval_batch_size = 64
  f.num_epochs = 12.0
  f.optimizer.learning_rate = 3e-5
  f.checkpoint_every_steps = 2_000
  f.log_every_steps = 100
  r.finetune_settings = ml_collections.ConfigDict()
  for lr_name, lr in (('lr3e5', 3e-5), ('lr1e4', 1e-4)):
    for seed in (0, 1):
      r.finetune_settings[f'{lr_name}_s{seed}'] = {'optimizer': {'learning_rate': lr},
                                                   'seed': seed}

  # Scratch baselines: seven architectures x three learning rates, plus shorter and longer
  # training and more seeds of ResNet-50, which move models along the trend.
  r.scratch = _scratch_from(f)
  s = r.scratch_settings = ml_collections.ConfigDict()
  archs = ('resnet18', 'resnet50', 'resnext50_32x4d', 'densenet121', 'mobilenet_v3_large',
           'mobilenet_v3_small', 'alexnet')
  for arch in archs:
    for lr_name, lr in (('lr3e5', 3e-5), ('lr1e4', 1e-4), ('lr3e4', 3e-4)):
      s[f'{arch}_{lr_name}'] = {'model': {'name': arch}, 'optimizer': {'learning_rate': lr}}
  for epochs in (6, 24):
    s[f'resnet50_lr1e4_ep{epochs}'] = {'model': {'name': 'resnet50'}, 'num_epochs': epochs,
                                       'optimizer': {'learning_rate': 1e-4}}
  for seed in (1, 2):
    s[f'resnet50_lr1e4_s{seed}'] = {'model': {'name': 'resnet50'}, 'seed': seed,
                                    'optimizer': {'learning_rate': 1e-4}}
  return r


def _local() -> ml_collections.ConfigDict:
  """Local scale: a tiny ResNet on generated data, a study in CPU minutes."""
  r = ml_collections.ConfigDict()
  r.sources = {'hierarchy': LOCAL_HIERARCHY, 'taxonomy': LOCAL_HIERARCHY,
               'fractaldb': LOCAL_FRACTALDB, 'diffusion': LOCAL_DIFFUSION}

  # Pre-training: a tiny ResNet (16/32 channels, twice the base width) on the generated 32 px
  # images resized to 24 px, 22-35 s per setting on 2 CPU cores. At this size a random-resized
  # crop cuts most of the object away; a plain resize (+ flip) learns the classes about twice
  # as fast. 1,000 steps let the 6,000-image source learn its classes well enough that its
  # fine-tunes reach the ID range of the scratch baselines.
  p = r.pretrain = _pretrain_base()
  p.model.name = 'resnet_tiny'
  p.model.stem = 'small'
  p.model.width = 2.0
  p.data.image_size = LOCAL_IMAGE_SIZE
  p.data.train_preprocess = 'resize'
  p.batch_size = 32
  p.num_train_steps = 1000
  p.optimizer.learning_rate = 0.1
  p.optimizer.weight_decay = 5e-4
  p.optimizer.warmup_steps = 20
  p.checkpoint_every_steps = 250
  p.log_every_steps = 100
  r.pretrain_epochs = 30.0  # with the `epochs` arg

  # Fine-tuning: the same recipe shape at CPU size (3e-5 is too slow for a few hundred steps),
  # 2 epochs, four seeds: the spread between fine-tuning seeds dominates a group's interval.
  r.finetune = _finetune_base()
  f = _with_benchmark(r, LOCAL_WILDCAM)
  f.data.image_size = LOCAL_IMAGE_SIZE
  f.batch_size = 32
  f.num_epochs = 2.0
  f.optimizer.learning_rate = 1e-3
  f.checkpoint_every_steps = 75  # once an epoch
  f.log_every_steps = 75
  r.finetune_settings = ml_collections.ConfigDict()
  for seed in (0, 1, 2, 3):
    r.finetune_settings[f'lr1e3_s{seed}'] = {'seed': seed}

  # Scratch baselines: widths, learning rates, lengths and seeds spread them over ID scores,
  # so the trend's slope is determined and the pre-trained models' ID scores lie inside the
  # baselines' range (their ER is read off the trend, not extrapolated). The 6-epoch runs use
  # other seeds than the 3-epoch ones: one seed trains the same first 3 epochs, and model
  # selection could pick one model twice.
  c = r.scratch = _scratch_from(f)
  c.model.name = 'resnet_tiny'
  c.model.stem = 'small'
  s = r.scratch_settings = ml_collections.ConfigDict()
  grid = (('w05_lr3e3', 0.5, 3e-3, 3.0, 0), ('w1_lr1e3', 1.0, 1e-3, 3.0, 0),
          ('w1_lr3e3', 1.0, 3e-3, 3.0, 0), ('w2_lr1e3', 2.0, 1e-3, 3.0, 0),
          ('w2_lr3e3', 2.0, 3e-3, 3.0, 0), ('w05_lr3e3_ep6_s1', 0.5, 3e-3, 6.0, 1),
          ('w1_lr3e3_ep6_s1', 1.0, 3e-3, 6.0, 1), ('w2_lr1e3_ep6_s1', 2.0, 1e-3, 6.0, 1),
          ('w2_lr3e3_ep6_s1', 2.0, 3e-3, 6.0, 1), ('w2_lr3e3_ep6_s2', 2.0, 3e-3, 6.0, 2))
  for name, width, lr, epochs, seed in grid:
    s[name] = {'model': {'width': width}, 'num_epochs': epochs,
               'optimizer': {'learning_rate': lr}, **({'seed': seed} if seed else {})}
  return r


def _test() -> ml_collections.ConfigDict:
  """Test scale: every stage runs on the smallest generated data, nothing is learned."""
  r = ml_collections.ConfigDict()
  r.sources = {'hierarchy': TEST_HIERARCHY, 'taxonomy': TEST_HIERARCHY,
               'fractaldb': 'fractaldb/tiny'}

  p = r.pretrain = _pretrain_base()
  p.model.name = 'resnet_tiny'
  p.model.stem = 'small'
  p.data.image_size = 16
  p.batch_size = 8
  p.eval_batch_size = 32
  p.num_train_steps = 3
  p.optimizer.learning_rate = 0.05
  p.checkpoint_every_steps = 1000  # one save, at the end
  p.log_every_steps = 1
  r.pretrain_epochs = 1.0

  r.finetune = _finetune_base()
  f = _with_benchmark(r, TEST_WILDCAM)
  f.data.image_size = 16
  f.batch_size = 8
  f.eval_batch_size = 32
  f.num_train_steps = 2
  f.optimizer.learning_rate = 1e-3
  f.checkpoint_every_steps = 1000
  f.log_every_steps = 1
  r.finetune_settings = ml_collections.ConfigDict()
  r.finetune_settings.lr1e3 = {}

  c = r.scratch = _scratch_from(f)
  c.model.name = 'resnet_tiny'
  c.model.stem = 'small'
  s = r.scratch_settings = ml_collections.ConfigDict()
  for name, lr, seed in (('lr1e3', 1e-3, 0), ('lr3e3', 3e-3, 0), ('lr1e3_s1', 1e-3, 1)):
    s[name] = {'optimizer': {'learning_rate': lr}, 'seed': seed}
  return r


_RECIPES = {'paper': _paper, 'local': _local, 'test': _test}


def recipe(kind: str) -> ml_collections.ConfigDict:
  """The recipe of scale `kind` ('paper' | 'local' | 'test'): sources, templates, sweeps."""
  return _RECIPES[kind]()


def finetune_template(kind: str) -> ml_collections.ConfigDict:
  """The fine-tune run template of scale `kind` (configs/finetune.py starts from it)."""
  return recipe(kind).finetune


def study_defaults(study: str, arg: str | None, description: str) -> ml_collections.ConfigDict:
  """A study config without pre-training settings: templates, sweeps, analysis options."""
  flags = parse_study_arg(arg)
  kind = scale(flags)
  c = ml_collections.ConfigDict()
  c.study = study
  c.description = description
  c.scale = kind
  c.data_dir = ml_collections.config_dict.placeholder(str)  # None: TFDS_DATA_DIR, else <workdir>/data
  # The user's modules (comma-separated) imported in every process of the study before any
  # dataset is read: they register the user's datasets (docs/own_data.md).
  c.imports = ''
  # Re-seeds every generated dataset of the study (another world; part of run identity).
  c.data_seed = 0
  # The release each real source's settings read (a source `builder/config` gets this config):
  # iNaturalist 2017 as the paper used; '2021_mini' | '2021' | '2018' are built the same way.
  c.releases = ml_collections.ConfigDict({'inaturalist': '2017'})
  # 'steps': every pre-training setting runs pretrain.num_train_steps, so quantity is not
  # confounded with compute; 'epochs': each runs pretrain_epochs over its own data.
  c.pretrain_length = 'epochs' if flags.epochs else 'steps'
  r = recipe(kind)
  c.pretrain_epochs = r.pretrain_epochs
  c.pretrain = r.pretrain
  # The dataset fine-tunes and scratch runs train on and the role of each of its splits
  # (jaxrobust.study.benchmark); the plan writes it into both templates.
  c.benchmark = r.benchmark
  c.finetune = r.finetune
  c.scratch = r.scratch
  c.pretrain_settings = ml_collections.ConfigDict()
  # How many times each pre-training setting is pre-trained (other image draw and seed each
  # time, every one fine-tuned): > 1 puts the chance of pre-training into every interval.
  c.pretrain_seeds = 1
  c.finetune_settings = r.finetune_settings
  c.scratch_settings = r.scratch_settings
  # Model selection rule (jaxrobust.study.selection): which evaluation of each fine-tune and
  # scratch run feeds the analysis: 'ood_val' (best macro-F1 on benchmark.ood_val_split, WILDS)
  # | 'id_val' (on benchmark.id_val_split) | 'last'.
  # result.json keeps every rule's model, so `python -m jaxrobust.analysis --selection` switches.
  c.selection = 'ood_val'
  c.analysis = ml_collections.ConfigDict()
  c.analysis.metric = 'macro_f1'     # | 'accuracy'
  c.analysis.transform = 'logit'     # | 'probit' | 'identity'
  c.analysis.group_by = ()           # pretrain.* columns; () = those that differ
  # ER points within which two groups (or a group and the trend) are `equivalent`; the
  # analysis default (jaxrobust/analysis/verdicts.py says why). A study declares its own.
  c.analysis.equivalence_margin = 2.0
  # The workdir of an earlier run (a pilot): the dry run reads its spread between runs to say
  # which differences the planned group sizes resolve (None: figures shipped for local scales).
  c.analysis.pilot = ml_collections.config_dict.placeholder(str)
  # Pairs of pre-training settings whose verdict is known in advance (jaxrobust/study/
  # controls.py): <name> = {pair: (setting_a, setting_b), expect: verdict, about: words}.
  c.controls = ml_collections.ConfigDict()
  return c


def sources_for(kind: str) -> dict[str, str]:
  """The datasets a study family uses at this scale."""
  return recipe(kind).sources.to_dict()


def local_semantic_groups() -> dict[str, str]:
  """Setting name -> hierarchy group of synthetic_nature: its animal and object kingdoms."""
  return {'animal': 'animal', 'non_animal': 'object'}
