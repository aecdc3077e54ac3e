"""One training run (no study): `python -m jaxrobust.main --config=configs/train.py[:arg]`.

Args:
  (none)  ResNet-50 pre-training on ImageNet-1k (TFDS `imagenet2012`), 90 epochs, the
          standard recipe (SGD + momentum, lr 0.1 per 256 images, 5 warm-up epochs,
          cosine decay, label smoothing 0.1, bf16 compute).
  tiny    a tiny ResNet on the generated `fractaldb/tiny` (built on first use), under two
          minutes on 2 CPU cores, checkpointing every quarter of training.
"""
import ml_collections

from jaxrobust import config_args as args
from jaxrobust.train import defaults


def _imagenet_resnet50(c: ml_collections.ConfigDict) -> None:
  c.name = 'imagenet_resnet50'
  c.model.name = 'resnet50'
  c.model.dtype = 'bfloat16'
  c.data.name = 'imagenet2012'
  c.data.eval_splits = ('validation',)
  c.data.image_size = 224
  c.data.num_workers = 8
  c.data.prefetch = 4
  c.batch_size = 1024
  c.eval_batch_size = 1024
  c.num_epochs = 90.0
  c.optimizer.learning_rate = 0.1 * c.batch_size / 256
  c.optimizer.warmup_steps = 5 * 1_281_167 // c.batch_size
  c.label_smoothing = 0.1
  c.checkpoint_every_steps = 1000
  c.keep_checkpoints = 3
  c.log_every_steps = 100
  c.eval_every_epochs = 10.0


def _tiny(c: ml_collections.ConfigDict) -> None:
  c.name = 'tiny'
  c.model.name = 'resnet_tiny'
  c.model.stem = 'small'
  c.model.width = 2.0               # 16 and 32 channels
  c.data.name = 'fractaldb/tiny'   # 10 classes x 20 train / 5 test images, 32 px
  c.data.image_size = 32
  c.batch_size = 32
  c.eval_batch_size = 64
  c.num_train_steps = 800           # ~130 epochs, ~15 s of training on 2 CPU cores
  c.optimizer.learning_rate = 0.1
  c.optimizer.warmup_steps = 20
  c.checkpoint_every_steps = 200    # every quarter of training
  c.log_every_steps = 100
  c.eval_every_epochs = None


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The run config; `arg` picks the variant (see the module docstring)."""
  c = defaults.run_defaults()
  if args.parse_arg(arg, tiny=False).tiny:
    _tiny(c)
  else:
    _imagenet_resnet50(c)
  return c
