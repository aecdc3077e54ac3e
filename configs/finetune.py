"""One fine-tune (or scratch) run with the WILDS ERM recipe for iWildCam.

  python -m jaxrobust.main --config=configs/finetune.py[:arg] --workdir=DIR \
      --config.init.model_init=DIR/runs/<pre-training run id>

Defaults: `iwildcam` (TFDS `iwildcam/448`), Adam, lr 3e-5, weight decay 0, constant
schedule, batch 16, 12 epochs, 448x448 plain resize ignoring the aspect ratio, no
augmentation (no random crop, no flip), ImageNet normalization; evaluation on id_val,
id_test (ID), val, test (OOD) at the end of training (`--config.eval_every_epochs=1` adds
one model point per epoch). The model (default ResNet-50, as the paper pre-trains) must be
the pre-trained architecture (`--config.model.*`; a mismatch is refused naming the keys).

Arg (comma-separated words and key=value pairs, e.g. `local,lr=1e-3,epochs=3`):
  local        the same recipe on the generated `synthetic_wildcam/small` at its own 48 px,
               with the model of configs/train.py:tiny (fine-tunes that run's checkpoint)
  scratch      kind 'scratch': the same stage from random initialization (baseline point)
  lr=<float>   learning rate             epochs=<float>  training epochs
  seed=<int>   seed (init of the head, data order)
"""
import os
import sys

import ml_collections

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import study_common as sc  # pylint: disable=g-import-not-at-top,wrong-import-position

_WORDS = ('local', 'scratch')
_VALUES = {'lr': float, 'epochs': float, 'seed': int}
LOCAL_IMAGE_SIZE = 48  # synthetic_wildcam/small stores 48 px images


def parse_arg(arg: str | None) -> dict[str, object]:
  """'local,lr=1e-3' -> {'local': True, 'scratch': False, 'lr': 0.001}; refuses unknown parts."""
  parsed: dict[str, object] = {w: False for w in _WORDS}
  for part in (p.strip() for p in (arg or '').split(',')):
    if not part:
      continue
    key, has_value, value = part.partition('=')
    if not has_value and key in _WORDS:
      parsed[key] = True
    elif has_value and key in _VALUES:
      try:
        parsed[key] = _VALUES[key](value)
      except ValueError:
        raise ValueError(f'configs/finetune.py arg {part!r}: {key} needs a '
                         f'{_VALUES[key].__name__}.') from None
    else:
      raise ValueError(f'Unknown configs/finetune.py arg {part!r}; use {", ".join(_WORDS)} '
                       f'and {", ".join(k + "=..." for k in _VALUES)}.')
  return parsed


def _local(c: ml_collections.ConfigDict) -> None:
  c.model.dtype = 'float32'
  c.model.name, c.model.stem, c.model.width = 'resnet_tiny', 'small', 2.0  # = train.py:tiny
  c.data.name = sc.LOCAL_WILDCAM
  c.data.image_size = LOCAL_IMAGE_SIZE
  c.data.num_workers = 0
  c.checkpoint_every_steps = 300   # one per epoch of synthetic_wildcam/small at batch 16
  c.log_every_steps = 50


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The run config; `arg`: see the module docstring."""
  parsed = parse_arg(arg)
  c = sc.finetune_template('paper')  # the WILDS ERM recipe, shared with the study configs
  c.name = 'finetune'
  c.model.name = 'resnet50'  # the paper's pre-trained architecture
  if parsed['local']:
    _local(c)
  if parsed['scratch']:
    c.kind = c.name = 'scratch'
    c.init.model_init = None
  if 'lr' in parsed:
    c.optimizer.learning_rate = parsed['lr']
  if 'epochs' in parsed:
    c.num_epochs = parsed['epochs']
  if 'seed' in parsed:
    c.seed = parsed['seed']
  return c
