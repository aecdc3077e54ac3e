"""MobileNet-V3 small and large (Howard et al. 2019), torchvision layout."""
from typing import NamedTuple

from flax import nnx
import jax
import jax.numpy as jnp

from jaxrobust.models import layers


class BlockSpec(NamedTuple):
  kernel: int
  expanded: int
  out: int
  squeeze_excite: bool
  hard_swish: bool
  stride: int


_LARGE = [BlockSpec(*s) for s in [
    (3, 16, 16, False, False, 1), (3, 64, 24, False, False, 2),
    (3, 72, 24, False, False, 1), (5, 72, 40, True, False, 2),
    (5, 120, 40, True, False, 1), (5, 120, 40, True, False, 1),
    (3, 240, 80, False, True, 2), (3, 200, 80, False, True, 1),
    (3, 184, 80, False, True, 1), (3, 184, 80, False, True, 1),
    (3, 480, 112, True, True, 1), (3, 672, 112, True, True, 1),
    (5, 672, 160, True, True, 2), (5, 960, 160, True, True, 1),
    (5, 960, 160, True, True, 1)]]
_SMALL = [BlockSpec(*s) for s in [
    (3, 16, 16, True, False, 2), (3, 72, 24, False, False, 2),
    (3, 88, 24, False, False, 1), (5, 96, 40, True, True, 2),
    (5, 240, 40, True, True, 1), (5, 240, 40, True, True, 1),
    (5, 120, 48, True, True, 1), (5, 144, 48, True, True, 1),
    (5, 288, 96, True, True, 2), (5, 576, 96, True, True, 1),
    (5, 576, 96, True, True, 1)]]


def divisible(channels: float, divisor: int = 8) -> int:
  """Nearest multiple of `divisor` to `channels`, never 10% below it."""
  rounded = max(divisor, int(channels + divisor / 2) // divisor * divisor)
  return rounded + divisor if rounded < 0.9 * channels else rounded


class SqueezeExcite(nnx.Module):
  """Channel gates from the pooled input: FC-ReLU-FC-hard-sigmoid."""

  def __init__(self, features: int, *, dtype: jnp.dtype, rngs: nnx.Rngs):
    squeezed = divisible(features // 4)
    self.reduce = layers.linear(features, squeezed, dtype=dtype, rngs=rngs)
    self.expand = layers.linear(squeezed, features, dtype=dtype, rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    gate = self.expand(nnx.relu(self.reduce(layers.global_avg_pool(x))))
    return x * nnx.hard_sigmoid(gate)[:, None, None, :]


class InvertedResidual(nnx.Module):
  """1x1 expand, depthwise conv, optional squeeze-excite, 1x1 project."""

  def __init__(self, in_features: int, spec: BlockSpec, width: float, *,
               dtype: jnp.dtype, rngs: nnx.Rngs):
    act = nnx.hard_swish if spec.hard_swish else nnx.relu
    expanded = divisible(spec.expanded * width)
    out = divisible(spec.out * width)
    self.expand = (None if expanded == in_features else layers.ConvBN(
        in_features, expanded, 1, activation=act, dtype=dtype, rngs=rngs))
    self.depthwise = layers.ConvBN(expanded, expanded, spec.kernel, spec.stride,
                                   groups=expanded, activation=act,
                                   dtype=dtype, rngs=rngs)
    self.squeeze_excite = (SqueezeExcite(expanded, dtype=dtype, rngs=rngs)
                           if spec.squeeze_excite else None)
    self.project = layers.ConvBN(expanded, out, 1, activation=None,
                                 dtype=dtype, rngs=rngs)
    self.residual = spec.stride == 1 and in_features == out
    self.out_features = out

  def __call__(self, x: jax.Array) -> jax.Array:
    y = x if self.expand is None else self.expand(x)
    y = self.depthwise(y)
    if self.squeeze_excite is not None:
      y = self.squeeze_excite(y)
    y = self.project(y)
    return x + y if self.residual else y


class MobileNetV3(nnx.Module):
  """Stem, inverted residuals, 1x1 conv, pool, FC-hard-swish-dropout, `head`."""

  def __init__(self, specs: list[BlockSpec], last_channels: int, *,
               num_classes: int, rngs: nnx.Rngs, stem: str = 'imagenet',
               width: float = 1.0, dropout: float = 0.2,
               dtype: jnp.dtype = jnp.float32):
    layers.check_stem(stem)
    features = divisible(16 * width)
    self.stem = layers.ConvBN(3, features, 3, 2 if stem == 'imagenet' else 1,
                              activation=nnx.hard_swish, dtype=dtype, rngs=rngs)
    blocks = []
    for spec in specs:
      blocks.append(InvertedResidual(features, spec, width, dtype=dtype,
                                     rngs=rngs))
      features = blocks[-1].out_features
    self.blocks = nnx.List(blocks)
    self.last_conv = layers.ConvBN(features, 6 * features, 1,
                                   activation=nnx.hard_swish, dtype=dtype,
                                   rngs=rngs)
    self.num_features = divisible(last_channels * width)
    self.pre_logits = layers.linear(6 * features, self.num_features,
                                    dtype=dtype, rngs=rngs)
    self.dropout = nnx.Dropout(dropout, rngs=rngs)
    self.head = layers.linear(self.num_features, num_classes, dtype=dtype,
                              rngs=rngs)

  def features(self, x: jax.Array) -> jax.Array:
    """Backbone features after the pre-logits layer [B, num_features]."""
    x = self.stem(x)
    for block in self.blocks:
      x = block(x)
    x = layers.global_avg_pool(self.last_conv(x))
    return self.dropout(nnx.hard_swish(self.pre_logits(x)))

  def __call__(self, x: jax.Array) -> jax.Array:
    return layers.logits_fp32(self.head(self.features(x)))


def mobilenet_v3_large(**kwargs) -> MobileNetV3:
  """MobileNet-V3 large (5.48M params at 1000 classes)."""
  return MobileNetV3(_LARGE, 1280, **kwargs)


def mobilenet_v3_small(**kwargs) -> MobileNetV3:
  """MobileNet-V3 small (2.54M params at 1000 classes)."""
  return MobileNetV3(_SMALL, 1024, **kwargs)
