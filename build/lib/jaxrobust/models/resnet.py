"""ResNet (He et al. 2016) and ResNeXt (Xie et al. 2017) as Flax NNX modules.

torchvision layout ("v1.5": the stride sits on the 3x3 conv of a bottleneck),
so parameter counts match torchvision. The last BatchNorm of every residual
branch starts with scale 0 (Goyal et al. 2017), so each block starts as the
identity.
"""
from flax import nnx
import jax
import jax.numpy as jnp

from jaxrobust.models import layers


def _shortcut(in_features: int, out_features: int, stride: int,
              dtype: jnp.dtype, rngs: nnx.Rngs) -> layers.ConvBN | None:
  """None (identity) when shapes match, else a strided 1x1 conv + BN."""
  if stride == 1 and in_features == out_features:
    return None
  return layers.ConvBN(in_features, out_features, 1, stride, activation=None,
                       dtype=dtype, rngs=rngs)


class BasicBlock(nnx.Module):
  """Two 3x3 convs plus the shortcut (ResNet-18/34)."""
  expansion = 1

  def __init__(self, in_features: int, planes: int, stride: int, *,
               groups: int = 1, base_width: int = 64, dtype: jnp.dtype,
               rngs: nnx.Rngs):
    del groups, base_width  # only bottlenecks are grouped
    self.conv1 = layers.ConvBN(in_features, planes, 3, stride, dtype=dtype,
                               rngs=rngs)
    self.conv2 = layers.ConvBN(planes, planes, 3, activation=None,
                               zero_init=True, dtype=dtype, rngs=rngs)
    self.shortcut = _shortcut(in_features, planes, stride, dtype, rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    residual = x if self.shortcut is None else self.shortcut(x)
    return nnx.relu(self.conv2(self.conv1(x)) + residual)


class Bottleneck(nnx.Module):
  """1x1 reduce, 3x3 (grouped for ResNeXt, strided), 1x1 expand x4."""
  expansion = 4

  def __init__(self, in_features: int, planes: int, stride: int, *,
               groups: int = 1, base_width: int = 64, dtype: jnp.dtype,
               rngs: nnx.Rngs):
    mid = int(planes * base_width / 64) * groups
    out = planes * self.expansion
    self.conv1 = layers.ConvBN(in_features, mid, 1, dtype=dtype, rngs=rngs)
    self.conv2 = layers.ConvBN(mid, mid, 3, stride, groups=groups, dtype=dtype,
                               rngs=rngs)
    self.conv3 = layers.ConvBN(mid, out, 1, activation=None, zero_init=True,
                               dtype=dtype, rngs=rngs)
    self.shortcut = _shortcut(in_features, out, stride, dtype, rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    residual = x if self.shortcut is None else self.shortcut(x)
    return nnx.relu(self.conv3(self.conv2(self.conv1(x))) + residual)


class ResNet(nnx.Module):
  """Stem, stages of residual blocks, global average pool, linear `head`."""

  def __init__(self, block: type[BasicBlock] | type[Bottleneck],
               stage_sizes: tuple[int, ...], *, num_classes: int,
               rngs: nnx.Rngs,
               stage_widths: tuple[int, ...] = (64, 128, 256, 512),
               groups: int = 1, base_width: int = 64, stem: str = 'imagenet',
               width: float = 1.0, dtype: jnp.dtype = jnp.float32):
    widths = [layers.scaled(w, width) for w in stage_widths]
    self.stem = layers.Stem(widths[0], stem, dtype=dtype, rngs=rngs)
    blocks, features = [], widths[0]
    for stage, (size, planes) in enumerate(zip(stage_sizes, widths)):
      for i in range(size):
        stride = 2 if stage > 0 and i == 0 else 1
        blocks.append(block(features, planes, stride, groups=groups,
                            base_width=base_width, dtype=dtype, rngs=rngs))
        features = planes * block.expansion
    self.blocks = nnx.List(blocks)
    self.num_features = features
    self.head = layers.linear(features, num_classes, dtype=dtype, rngs=rngs)

  def feature_map(self, x: jax.Array) -> jax.Array:
    """The last stage's output [B, H', W', num_features]."""
    x = self.stem(x)
    for block in self.blocks:
      x = block(x)
    return x

  def features(self, x: jax.Array) -> jax.Array:
    """Pooled backbone features [B, num_features]."""
    return layers.global_avg_pool(self.feature_map(x))

  def __call__(self, x: jax.Array) -> jax.Array:
    return layers.logits_fp32(self.head(self.features(x)))


def resnet18(**kwargs) -> ResNet:
  """ResNet-18 (11.69M params at 1000 classes)."""
  return ResNet(BasicBlock, (2, 2, 2, 2), **kwargs)


def resnet34(**kwargs) -> ResNet:
  """ResNet-34 (21.80M params)."""
  return ResNet(BasicBlock, (3, 4, 6, 3), **kwargs)


def resnet50(**kwargs) -> ResNet:
  """ResNet-50 (25.56M params)."""
  return ResNet(Bottleneck, (3, 4, 6, 3), **kwargs)


def resnet101(**kwargs) -> ResNet:
  """ResNet-101 (44.55M params)."""
  return ResNet(Bottleneck, (3, 4, 23, 3), **kwargs)


def resnext50_32x4d(**kwargs) -> ResNet:
  """ResNeXt-50 32x4d (25.03M params)."""
  return ResNet(Bottleneck, (3, 4, 6, 3), groups=32, base_width=4, **kwargs)


def resnet_tiny(**kwargs) -> ResNet:
  """Two stages of one basic block (8, 16 channels): for tests and CPU runs."""
  return ResNet(BasicBlock, (1, 1), stage_widths=(8, 16), **kwargs)
