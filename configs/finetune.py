"""One fine-tune (or scratch) run with the WILDS ERM recipe for iWildCam.

  python -m jaxrobust.main --config=configs/finetune.py[:arg] --workdir=DIR \
      --config.init.model_init=DIR/runs/<pre-training run id>

Defaults: `iwildcam` (TFDS `iwildcam/448`), Adam, lr 3e-5, weight decay 0, constant
schedule, batch 16, 12 epochs, 448x448 plain resize ignoring the aspect ratio, no
augmentation (no random crop, no flip), ImageNet normalization; evaluation on id_val,
id_test (ID), val, test (OOD), with model selection as in WILDS: id_val and val every epoch,
the reported model is the epoch with the best val macro-F1 (result.json also keeps the best
id_val epoch and the last; jaxrobust/study/selection.py). The model (default ResNet-50, as the
paper pre-trains) must be the pre-trained architecture (`--config.model.*`; a mismatch is
refused naming the keys).

Arg (comma-separated words and key=value pairs, e.g. `local,lr=1e-3,epochs=3`):
  local        the same recipe on the generated `synthetic_wildcam/small` at its own 32 px,
               with the model of configs/train.py:tiny (fine-tunes that run's checkpoint)
  scratch      kind 'scratch': the same stage from random initialization (baseline point)
  lr=<float>   learning rate             epochs=<float>  training epochs
  seed=<int>   seed (init of the head, data order)
"""
import ml_collections

from jaxrobust import config_args as args
from jaxrobust.study import recipes as sc

LOCAL_IMAGE_SIZE = 32  # synthetic_wildcam/small stores 32 px images


def _local(c: ml_collections.ConfigDict) -> None:
  c.model.dtype = 'float32'
  c.model.name, c.model.stem, c.model.width = 'resnet_tiny', 'small', 2.0  # = train.py:tiny
  c.data.name = sc.LOCAL_WILDCAM
  c.data.image_size = LOCAL_IMAGE_SIZE
  c.data.num_workers = 0
  c.checkpoint_every_steps = 150   # one per epoch of synthetic_wildcam/small at batch 16
  c.log_every_steps = 50


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The run config; `arg`: see the module docstring."""
  parsed = args.parse_arg(arg, local=False, scratch=False, lr=float, epochs=float, seed=int)
  c = sc.finetune_template('paper')  # the WILDS ERM recipe, shared with the study configs
  c.name = 'finetune'
  c.model.name = 'resnet50'  # the paper's pre-trained architecture
  if parsed.local:
    _local(c)
  if parsed.scratch:
    c.kind = c.name = 'scratch'
    c.init.model_init = None
  if parsed.lr is not None:
    c.optimizer.learning_rate = parsed.lr
  if parsed.epochs is not None:
    c.num_epochs = parsed.epochs
  if parsed.seed is not None:
    c.seed = parsed.seed
  return c
