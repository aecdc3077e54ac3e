"""Building blocks shared by the model zoo: convolutions, BatchNorm, pooling.

Conventions every model follows: NHWC inputs, `dtype` is the compute dtype
while parameters stay float32, BatchNorm uses momentum 0.9 / epsilon 1e-5 and
switches batch vs running statistics with `model.train()` / `model.eval()`.
"""
from collections.abc import Callable

from flax import nnx
import jax
import jax.numpy as jnp

Activation = Callable[[jax.Array], jax.Array]

STEMS = ('imagenet', 'small')  # 'small': the stem does not downsample

# He-normal with fan_out, the usual initialization of ReLU conv nets.
conv_init = nnx.initializers.variance_scaling(2.0, 'fan_out', 'normal')


def check_stem(stem: str) -> None:
  """Raises a ValueError naming the config field for an unknown stem."""
  if stem not in STEMS:
    raise ValueError(f'Unknown stem {stem!r}; set config.model.stem to one of '
                     f'{list(STEMS)}.')


def scaled(channels: int, width: float) -> int:
  """Channel count `channels` scaled by the width multiplier (at least 1)."""
  return max(1, int(round(channels * width)))


def conv(in_features: int, out_features: int, kernel: int, stride: int = 1, *,
         pad: int | None = None, groups: int = 1, use_bias: bool = False,
         dtype: jnp.dtype, rngs: nnx.Rngs) -> nnx.Conv:
  """Square conv, symmetric padding (`kernel // 2` unless `pad` is given)."""
  pad = kernel // 2 if pad is None else pad
  return nnx.Conv(
      in_features, out_features, (kernel, kernel), (stride, stride),
      padding=((pad, pad), (pad, pad)), feature_group_count=groups,
      use_bias=use_bias, kernel_init=conv_init, dtype=dtype,
      param_dtype=jnp.float32, rngs=rngs)


def batch_norm(features: int, *, zero_init: bool = False, dtype: jnp.dtype,
               rngs: nnx.Rngs) -> nnx.BatchNorm:
  """BatchNorm (momentum 0.9, eps 1e-5); `zero_init` starts its scale at 0."""
  scale_init = nnx.initializers.zeros if zero_init else nnx.initializers.ones
  return nnx.BatchNorm(
      features, momentum=0.9, epsilon=1e-5, scale_init=scale_init,
      dtype=dtype, param_dtype=jnp.float32, rngs=rngs)


def linear(in_features: int, out_features: int, *, dtype: jnp.dtype,
           rngs: nnx.Rngs) -> nnx.Linear:
  """A dense layer computing in `dtype` with float32 parameters."""
  return nnx.Linear(in_features, out_features, dtype=dtype,
                    param_dtype=jnp.float32, rngs=rngs)


class ConvBN(nnx.Module):
  """Conv -> BatchNorm -> optional activation."""

  def __init__(self, in_features: int, out_features: int, kernel: int,
               stride: int = 1, *, groups: int = 1,
               activation: Activation | None = nnx.relu,
               zero_init: bool = False, dtype: jnp.dtype, rngs: nnx.Rngs):
    self.conv = conv(in_features, out_features, kernel, stride, groups=groups,
                     dtype=dtype, rngs=rngs)
    self.bn = batch_norm(out_features, zero_init=zero_init, dtype=dtype,
                         rngs=rngs)
    self.activation = activation

  def __call__(self, x: jax.Array) -> jax.Array:
    x = self.bn(self.conv(x))
    return x if self.activation is None else self.activation(x)


class Stem(nnx.Module):
  """'imagenet': 7x7/2 conv-BN-ReLU + 3x3/2 max-pool; 'small': 3x3/1 only."""

  def __init__(self, out_features: int, stem: str, *, dtype: jnp.dtype,
               rngs: nnx.Rngs):
    check_stem(stem)
    kernel, stride = (7, 2) if stem == 'imagenet' else (3, 1)
    self.conv_bn = ConvBN(3, out_features, kernel, stride, dtype=dtype,
                          rngs=rngs)
    self.pool = stem == 'imagenet'

  def __call__(self, x: jax.Array) -> jax.Array:
    x = self.conv_bn(x)
    return max_pool(x) if self.pool else x


def max_pool(x: jax.Array, kernel: int = 3, stride: int = 2,
             pad: int = 1) -> jax.Array:
  """Square max pooling with symmetric padding."""
  return nnx.max_pool(x, (kernel, kernel), (stride, stride),
                      padding=((pad, pad), (pad, pad)))


def global_avg_pool(x: jax.Array) -> jax.Array:
  """[B, H, W, C] -> [B, C]."""
  return jnp.mean(x, axis=(1, 2))


def _adaptive_avg_pool_axis(x: jax.Array, size: int, axis: int) -> jax.Array:
  n = x.shape[axis]
  bins = []
  for i in range(size):
    start, stop = (i * n) // size, -((-(i + 1) * n) // size)  # floor, ceil
    bins.append(jnp.mean(jax.lax.slice_in_dim(x, start, stop, axis=axis),
                         axis=axis, keepdims=True))
  return jnp.concatenate(bins, axis=axis)


def adaptive_avg_pool(x: jax.Array, size: tuple[int, int]) -> jax.Array:
  """Average-pools [B, H, W, C] to [B, *size, C] for any H, W (like torch)."""
  x = _adaptive_avg_pool_axis(x, size[0], axis=1)
  return _adaptive_avg_pool_axis(x, size[1], axis=2)


def logits_fp32(x: jax.Array) -> jax.Array:
  """Logits leave every model as float32 so losses never run in bf16."""
  return x.astype(jnp.float32)
