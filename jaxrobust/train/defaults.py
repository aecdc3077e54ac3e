"""Defaults of one training run (pre-training, fine-tuning or scratch).

Every config file builds its runs from `run_defaults()`; the engine
(`jaxrobust.train.loop.train_and_evaluate`) reads exactly these fields.
"""
import ml_collections


def run_defaults() -> ml_collections.ConfigDict:
  """The resolved fields of one training run, with laptop-friendly defaults."""
  c = ml_collections.ConfigDict()
  c.name = 'train'                 # readable part of the run id
  c.kind = 'pretrain'              # 'pretrain' | 'finetune' | 'scratch'
  c.seed = 0
  # The user's modules (comma-separated), imported in every process before any dataset is
  # read: they register the user's TFDS builders (jaxrobust.user_modules, docs/own_data.md).
  c.imports = ''

  c.model = ml_collections.ConfigDict()
  c.model.name = 'resnet18'        # see jaxrobust.models.model_names()
  c.model.stem = 'imagenet'        # 'imagenet' (7x7 + maxpool) | 'small' (3x3)
  c.model.width = 1.0              # width multiplier
  c.model.dtype = 'float32'        # compute dtype: 'float32' | 'bfloat16' (params stay fp32)

  c.data = ml_collections.ConfigDict()
  c.data.name = 'fractaldb/tiny'   # TFDS name[/config]
  c.data.data_dir = ml_collections.config_dict.placeholder(str)  # None: TFDS default
  c.data.train_split = 'train'
  c.data.eval_splits = ('test',)
  # Scored at every evaluation during training; the other eval splits only when one of these
  # reaches a new best macro-F1 (model selection), and at the end. (): every split every time.
  c.data.selection_splits = ()
  c.data.label_key = 'label'       # which label feature to train on
  # The roles of the eval splits (finetune and scratch runs): result.json's metrics.id and
  # metrics.ood, and the splits the id_val / ood_val selection rules maximize. A study sets
  # them from its `benchmark` block; these are WILDS' names.
  c.data.id_val_split = 'id_val'
  c.data.id_split = 'id_test'
  c.data.ood_val_split = 'val'
  c.data.ood_split = 'test'
  c.data.image_size = 64
  c.data.train_preprocess = 'random_resized_crop'  # | 'resize' (WILDS: plain square resize)
  c.data.eval_preprocess = 'resize_center_crop'    # | 'resize'
  c.data.augment_flip = True
  c.data.normalization = 'imagenet'
  c.data.num_workers = 0           # grain worker processes (0 = in-process)
  c.data.prefetch = 2
  # Decoded images of splits up to this size stay in memory across epochs, evaluations and
  # the runs of a study (jaxrobust.input.decoded_cache; same pixels); 0 turns it off.
  c.data.cache_decoded_mb = 1024
  c.data.auto_prepare = True       # build generated (offline) datasets when missing

  c.batch_size = 64                # global batch size
  c.eval_batch_size = 128
  c.num_epochs = ml_collections.config_dict.placeholder(float)
  c.num_train_steps = ml_collections.config_dict.placeholder(int)

  c.optimizer = ml_collections.ConfigDict()
  c.optimizer.name = 'sgd'         # 'sgd' | 'adam' | 'adamw'
  c.optimizer.learning_rate = 0.1
  c.optimizer.momentum = 0.9
  c.optimizer.nesterov = False
  c.optimizer.weight_decay = 1e-4
  c.optimizer.schedule = 'cosine'  # 'cosine' | 'constant'
  c.optimizer.warmup_steps = 0
  c.optimizer.no_decay = ('.*bias', '.*scale')  # regexes of params without weight decay
  c.label_smoothing = 0.0

  c.init = ml_collections.ConfigDict()   # fine-tune handoff (big_vision style)
  c.init.model_init = ml_collections.config_dict.placeholder(str)  # pretrain run dir or checkpoint path
  c.init.dont_load = ('head/.*',)        # regexes of params not restored
  c.init.mode = 'full'                   # 'full' | 'linear_probe'

  # What one run asks of a Ray cluster (--executor=ray); None: the default of its kind, from the
  # cluster's largest node: pre-training takes all of a node's GPUs or TPU chips, a fine-tune or
  # scratch run one of them (and 1 CPU); without accelerators a run takes a node's CPUs.
  c.resources = ml_collections.ConfigDict()
  c.resources.cpus = ml_collections.config_dict.placeholder(float)
  c.resources.gpus = ml_collections.config_dict.placeholder(float)
  c.resources.tpus = ml_collections.config_dict.placeholder(int)  # TPU chips

  c.checkpoint_every_steps = 100
  c.keep_checkpoints = 2
  c.log_every_steps = 10
  c.eval_every_epochs = ml_collections.config_dict.placeholder(float)  # None: only at the end
  c.save_logits = False
  return c
