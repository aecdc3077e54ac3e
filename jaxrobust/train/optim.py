"""optax optimizer, learning-rate schedule and parameter masks from `config.optimizer`.

Parameters are nested dicts (`nnx.State.to_pure_dict()`); a parameter's path is its keys
joined by '/', e.g. `blocks/0/conv1/conv/kernel` or `head/kernel`; masks are regexes
that must match the whole path.
"""
from collections.abc import Sequence
import re

import jax
import ml_collections
import optax

from jaxrobust.errors import ConfigError

OPTIMIZERS = ('sgd', 'adam', 'adamw')
SCHEDULES = ('cosine', 'constant')


def param_path(path: tuple) -> str:
  """A pytree key path -> 'a/b/0/kernel'."""
  return '/'.join(str(getattr(k, 'key', getattr(k, 'idx', k))) for k in path)


def path_mask(params, patterns: Sequence[str]):
  """A pytree of bools like `params`: True where the path fully matches a pattern."""
  compiled = [re.compile(p) for p in patterns]
  return jax.tree_util.tree_map_with_path(
      lambda path, _: any(c.fullmatch(param_path(path)) for c in compiled), params)


def learning_rate_schedule(opt: ml_collections.ConfigDict, num_steps: int
                           ) -> optax.Schedule:
  """Linear warm-up over `warmup_steps`, then cosine decay to 0 or constant."""
  if opt.schedule not in SCHEDULES:
    raise ConfigError(f'config.optimizer.schedule={opt.schedule!r}; use one of {SCHEDULES}.')
  warmup = int(opt.warmup_steps)
  if warmup >= num_steps and warmup > 0:
    raise ConfigError(f'config.optimizer.warmup_steps={warmup} must be below the number '
                      f'of training steps ({num_steps}).')
  if opt.schedule == 'cosine':
    return optax.warmup_cosine_decay_schedule(
        init_value=0.0, peak_value=opt.learning_rate, warmup_steps=warmup,
        decay_steps=num_steps, end_value=0.0)
  return optax.join_schedules(
      [optax.linear_schedule(0.0, opt.learning_rate, warmup),
       optax.constant_schedule(opt.learning_rate)], [warmup])


def schedule_steps(opt: ml_collections.ConfigDict, num_steps: int) -> int | None:
  """The run length `learning_rate_schedule` depends on: `num_steps` for cosine, else None."""
  return num_steps if opt.schedule == 'cosine' else None


def _base_optimizer(opt: ml_collections.ConfigDict, schedule: optax.Schedule, decay_mask
                    ) -> optax.GradientTransformation:
  # SGD and Adam use coupled (L2) weight decay like torch.optim; AdamW decouples it.
  if opt.name == 'sgd':
    return optax.chain(
        optax.add_decayed_weights(opt.weight_decay, mask=decay_mask),
        optax.sgd(schedule, momentum=opt.momentum or None, nesterov=opt.nesterov))
  if opt.name == 'adam':
    return optax.chain(optax.add_decayed_weights(opt.weight_decay, mask=decay_mask),
                       optax.adam(schedule))
  if opt.name == 'adamw':
    return optax.adamw(schedule, weight_decay=opt.weight_decay, mask=decay_mask)
  raise ConfigError(f'config.optimizer.name={opt.name!r}; use one of {OPTIMIZERS}.')


def make_optimizer(opt: ml_collections.ConfigDict, num_steps: int, params, *,
                   trainable: Sequence[str] | None = None
                   ) -> tuple[optax.GradientTransformation, optax.Schedule]:
  """The optimizer for `params` and its schedule.

  `trainable`: regexes of the parameters to update; all others are frozen (their update
  is exactly zero and they keep no optimizer state), e.g. `('head/.*',)` for a linear
  probe. None trains everything.
  """
  schedule = learning_rate_schedule(opt, num_steps)
  # A callable mask, so it also applies to the sub-tree `multi_transform` passes on.
  decay = lambda tree: jax.tree.map(lambda no: not no, path_mask(tree, opt.no_decay))
  tx = _base_optimizer(opt, schedule, decay)
  if trainable is not None:
    train_mask = path_mask(params, trainable)
    if not any(jax.tree.leaves(train_mask)):
      raise ConfigError(f'No parameter matches the trainable patterns {list(trainable)}.')
    labels = jax.tree.map(lambda t: 'train' if t else 'freeze', train_mask)
    tx = optax.multi_transform({'train': tx, 'freeze': optax.set_to_zero()}, labels)
  return tx, schedule
