"""DenseNet-121 (Huang et al. 2017) as a Flax NNX module, torchvision layout."""
from flax import nnx
import jax
import jax.numpy as jnp

from jaxrobust.models import layers


class BNReLUConv(nnx.Module):
  """Pre-activation unit: BatchNorm -> ReLU -> conv."""

  def __init__(self, in_features: int, out_features: int, kernel: int, *,
               dtype: jnp.dtype, rngs: nnx.Rngs):
    self.bn = layers.batch_norm(in_features, dtype=dtype, rngs=rngs)
    self.conv = layers.conv(in_features, out_features, kernel, dtype=dtype,
                            rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    return self.conv(nnx.relu(self.bn(x)))


class DenseLayer(nnx.Module):
  """1x1 bottleneck then 3x3 conv; its `growth` new channels join the input."""

  def __init__(self, in_features: int, growth: int, bn_size: int, *,
               dtype: jnp.dtype, rngs: nnx.Rngs):
    self.reduce = BNReLUConv(in_features, bn_size * growth, 1, dtype=dtype,
                             rngs=rngs)
    self.grow = BNReLUConv(bn_size * growth, growth, 3, dtype=dtype, rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    return jnp.concatenate([x, self.grow(self.reduce(x))], axis=-1)


class Transition(nnx.Module):
  """Halves the channels (1x1 conv) and the resolution (2x2 average pool)."""

  def __init__(self, in_features: int, out_features: int, *, dtype: jnp.dtype,
               rngs: nnx.Rngs):
    self.unit = BNReLUConv(in_features, out_features, 1, dtype=dtype, rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    return nnx.avg_pool(self.unit(x), (2, 2), (2, 2))


class DenseNet(nnx.Module):
  """Stem, dense blocks joined by transitions, BN-ReLU, pool, linear `head`."""

  def __init__(self, block_sizes: tuple[int, ...], *, num_classes: int,
               rngs: nnx.Rngs, growth: int = 32, init_features: int = 64,
               bn_size: int = 4, stem: str = 'imagenet', width: float = 1.0,
               dtype: jnp.dtype = jnp.float32):
    growth = layers.scaled(growth, width)
    features = layers.scaled(init_features, width)
    self.stem = layers.Stem(features, stem, dtype=dtype, rngs=rngs)
    units = []
    for i, size in enumerate(block_sizes):
      for _ in range(size):
        units.append(DenseLayer(features, growth, bn_size, dtype=dtype,
                                rngs=rngs))
        features += growth
      if i < len(block_sizes) - 1:
        units.append(Transition(features, features // 2, dtype=dtype,
                                rngs=rngs))
        features //= 2
    self.units = nnx.List(units)
    self.final_bn = layers.batch_norm(features, dtype=dtype, rngs=rngs)
    self.num_features = features
    self.head = layers.linear(features, num_classes, dtype=dtype, rngs=rngs)

  def feature_map(self, x: jax.Array) -> jax.Array:
    """The last dense block's output, normalized [B, H', W', num_features]."""
    x = self.stem(x)
    for unit in self.units:
      x = unit(x)
    return nnx.relu(self.final_bn(x))

  def features(self, x: jax.Array) -> jax.Array:
    """Pooled backbone features [B, num_features]."""
    return layers.global_avg_pool(self.feature_map(x))

  def __call__(self, x: jax.Array) -> jax.Array:
    return layers.logits_fp32(self.head(self.features(x)))


def densenet121(**kwargs) -> DenseNet:
  """DenseNet-121 (7.98M params at 1000 classes)."""
  return DenseNet((6, 12, 24, 16), **kwargs)
