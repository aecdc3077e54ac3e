"""Functional, jit-compiled train and eval steps over `nnx.split` model state.

The train state is a plain pytree of global arrays:
  {'step': int32, 'params': {...}, 'batch_stats': {...}, 'opt_state': optax state}
with `params`/`batch_stats` the nested dicts of `nnx.State.to_pure_dict()`. The static
part of the model (two graphdefs: one for training, one for inference) lives in
`ModelDef`. Freezing the backbone for a linear probe needs no second step: the training
graphdef keeps the backbone's BatchNorm in inference mode (`split_model(...,
frozen_backbone=True)`), the step stops gradients at the backbone's params (so XLA drops its
backward pass) and the optimizer zeroes the frozen updates (`optim.make_optimizer(...,
trainable=...)`).
"""
from collections.abc import Callable
import dataclasses
from typing import Any

from flax import nnx
import jax
import jax.numpy as jnp
from jax.sharding import Mesh
import numpy as np
import optax

from jaxrobust.train import mesh as mesh_lib

HEAD = 'head'
# (mean, std) per channel, on the 0-255 scale.
NORMALIZATIONS = {
    'imagenet': ((0.485 * 255, 0.456 * 255, 0.406 * 255),
                 (0.229 * 255, 0.224 * 255, 0.225 * 255)),
    'centered': ((127.5, 127.5, 127.5), (127.5, 127.5, 127.5)),
    'none': ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
}
TrainState = dict[str, Any]
Batch = dict[str, jax.Array]


def normalize_images(images: jnp.ndarray, normalization: str,
                     dtype: jnp.dtype = jnp.float32) -> jnp.ndarray:
  """uint8 NHWC images -> normalized float images (runs on the device, inside the step)."""
  mean, std = NORMALIZATIONS[normalization]
  images = images.astype(jnp.float32)
  return ((images - jnp.asarray(mean)) / jnp.asarray(std)).astype(dtype)


@dataclasses.dataclass(frozen=True)
class ModelDef:
  """The static halves of a split model, closed over by the jitted steps."""
  train_graphdef: Any
  eval_graphdef: Any
  other_state: Any  # state that is neither Param nor BatchStat (e.g. RNG streams)
  frozen_backbone: bool = False

  def merge(self, params, batch_stats, *, train: bool) -> nnx.Module:
    """The module for `params` / `batch_stats` in training or inference mode."""
    graphdef = self.train_graphdef if train else self.eval_graphdef
    return nnx.merge(graphdef, params, batch_stats, self.other_state)


def split_model(model: nnx.Module, *, frozen_backbone: bool = False
                ) -> tuple[ModelDef, dict, dict]:
  """(ModelDef, params, batch_stats) of `model`; leaves `model` in eval mode.

  `frozen_backbone`: BatchNorm outside the `head` submodule runs in inference mode
  during training too (its statistics stay as restored).
  """
  model.train()
  if frozen_backbone:
    model.set_attributes(lambda path, _: not path or path[0] != HEAD,
                         use_running_average=True, deterministic=True,
                         raise_if_not_found=False)
  train_graphdef, params, batch_stats, other = nnx.split(model, nnx.Param, nnx.BatchStat, ...)
  model.eval()
  eval_graphdef = nnx.graphdef(model)
  return (ModelDef(train_graphdef, eval_graphdef, nnx.to_pure_dict(other), frozen_backbone),
          nnx.to_pure_dict(params), nnx.to_pure_dict(batch_stats))


def init_train_state(params: dict, batch_stats: dict,
                     init_opt_state: Callable[[dict], Any], mesh: Mesh) -> TrainState:
  """The train state at step 0, replicated over `mesh`; `init_opt_state`: e.g. jit(tx.init)."""
  return mesh_lib.replicate({'step': np.int32(0), 'params': params, 'batch_stats': batch_stats,
                             'opt_state': init_opt_state(params)}, mesh)


def cross_entropy(logits: jax.Array, labels: jax.Array, mask: jax.Array,
                  label_smoothing: float) -> jax.Array:
  """Mean (label-smoothed) softmax cross-entropy over the examples where `mask` is set."""
  num_classes = logits.shape[-1]
  targets = optax.smooth_labels(jax.nn.one_hot(labels, num_classes), label_smoothing)
  losses = optax.softmax_cross_entropy(logits.astype(jnp.float32), targets)
  return jnp.sum(losses * mask) / jnp.maximum(jnp.sum(mask), 1)


def _reseed_rng_streams(model: nnx.Module, seed: int, step: jax.Array) -> None:
  # Dropout-style randomness depends only on (seed, step), so resumed runs repeat it.
  streams = {node.tag for _, node in nnx.iter_graph(model) if isinstance(node, nnx.RngStream)}
  if streams:
    key = jax.random.fold_in(jax.random.key(seed), step)
    nnx.reseed(model, **{tag: jax.random.fold_in(key, i) for i, tag in enumerate(sorted(streams))})


def make_train_step(model_def: ModelDef, tx: optax.GradientTransformation,
                    schedule: optax.Schedule, mesh: Mesh, *, normalization: str,
                    compute_dtype: jnp.dtype, label_smoothing: float, seed: int
                    ) -> Callable[[TrainState, Batch], tuple[TrainState, dict]]:
  """jit(state, batch) -> (new state, scalar metrics); the old state is donated."""

  def train_step(state: TrainState, batch: Batch):
    images = normalize_images(batch['image'], normalization, compute_dtype)
    mask = batch['mask'].astype(jnp.float32)

    def loss_fn(params):
      if model_def.frozen_backbone:  # no backward pass through the backbone at all
        params = {name: value if name == HEAD else jax.lax.stop_gradient(value)
                  for name, value in params.items()}
      model = model_def.merge(params, state['batch_stats'], train=True)
      _reseed_rng_streams(model, seed, state['step'])
      logits = model(images)
      loss = cross_entropy(logits, batch['label'], mask, label_smoothing)
      return loss, (logits, nnx.to_pure_dict(nnx.state(model, nnx.BatchStat)))

    (loss, (logits, batch_stats)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        state['params'])
    updates, opt_state = tx.update(grads, state['opt_state'], state['params'])
    params = optax.apply_updates(state['params'], updates)
    correct = jnp.sum((jnp.argmax(logits, -1) == batch['label']) * mask)
    grad_norm = optax.tree.norm(grads)
    metrics = {
        'loss': loss,
        'accuracy': correct / jnp.maximum(jnp.sum(mask), 1),
        'grad_norm': grad_norm,
        'learning_rate': schedule(state['step']),
        'skipped_images': jnp.sum(1 - mask),
        # A NaN/inf anywhere stops the run before this state is ever checkpointed.
        'finite': jnp.isfinite(loss) & jnp.isfinite(grad_norm)
                  & jnp.isfinite(optax.tree.norm(params)),
    }
    new_state = {'step': state['step'] + 1, 'params': params,
                 'batch_stats': batch_stats, 'opt_state': opt_state}
    return new_state, metrics

  replicated = mesh_lib.replicated_sharding(mesh)
  return jax.jit(train_step, in_shardings=(replicated, mesh_lib.batch_sharding(mesh)),
                 out_shardings=(replicated, replicated), donate_argnums=0)


def make_eval_step(model_def: ModelDef, mesh: Mesh, *, normalization: str,
                   compute_dtype: jnp.dtype, with_logits: bool = False
                   ) -> Callable[[dict, dict, Batch], dict[str, jax.Array]]:
  """jit(params, batch_stats, batch) -> per-example predictions (+ logits), batch-sharded."""

  def eval_step(params, batch_stats, batch: Batch):
    model = model_def.merge(params, batch_stats, train=False)
    logits = model(normalize_images(batch['image'], normalization, compute_dtype))
    logits = logits.astype(jnp.float32)
    out = {'predictions': jnp.argmax(logits, -1).astype(jnp.int32),
           'labels': batch['label'], 'mask': batch['mask'], 'index': batch['index']}
    if with_logits:
      out['logits'] = logits
    return out

  replicated = mesh_lib.replicated_sharding(mesh)
  sharded = mesh_lib.batch_sharding(mesh)
  return jax.jit(eval_step, in_shardings=(replicated, replicated, sharded),
                 out_shardings=sharded)
