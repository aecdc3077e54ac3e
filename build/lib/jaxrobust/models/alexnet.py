"""AlexNet (Krizhevsky et al. 2012), torchvision's single-tower layout, in NNX.

An adaptive average pool to 6x6 before the classifier makes any image size
that survives the feature extractor work (>= 63 px with the 'imagenet' stem,
>= 15 px with the 'small' stem).
"""
from flax import nnx
import jax
import jax.numpy as jnp

from jaxrobust.models import layers


class AlexNet(nnx.Module):
  """Five convs with three max-pools, 6x6 pool, two dropout+ReLU FCs, `head`."""

  def __init__(self, *, num_classes: int, rngs: nnx.Rngs,
               stem: str = 'imagenet', width: float = 1.0,
               dropout: float = 0.5, dtype: jnp.dtype = jnp.float32):
    layers.check_stem(stem)
    c1, c2, c3, c4, c5 = (layers.scaled(c, width)
                          for c in (64, 192, 384, 256, 256))
    hidden = layers.scaled(4096, width)
    conv = lambda i, o, k, s=1, pad=None: layers.conv(
        i, o, k, s, pad=pad, use_bias=True, dtype=dtype, rngs=rngs)
    first = conv(3, c1, 11, 4, pad=2) if stem == 'imagenet' else conv(3, c1, 3)
    self.convs = nnx.List([first, conv(c1, c2, 5), conv(c2, c3, 3),
                           conv(c3, c4, 3), conv(c4, c5, 3)])
    self.pool_after = (0, 1, 4)  # conv indices followed by a 3x3/2 max-pool
    self.fcs = nnx.List([layers.linear(c5 * 36, hidden, dtype=dtype, rngs=rngs),
                         layers.linear(hidden, hidden, dtype=dtype, rngs=rngs)])
    self.dropout = nnx.Dropout(dropout, rngs=rngs)
    self.num_features = hidden
    self.head = layers.linear(hidden, num_classes, dtype=dtype, rngs=rngs)

  def features(self, x: jax.Array) -> jax.Array:
    """Backbone features after the second fully-connected layer [B, hidden]."""
    for i, conv in enumerate(self.convs):
      x = nnx.relu(conv(x))
      if i in self.pool_after:
        x = layers.max_pool(x, pad=0)
    if 0 in x.shape[1:3]:
      raise ValueError('Images too small for AlexNet with the imagenet stem: '
                       "raise config.data.image_size to >= 63 or set "
                       "config.model.stem='small'.")
    x = layers.adaptive_avg_pool(x, (6, 6)).reshape(x.shape[0], -1)
    for fc in self.fcs:
      x = nnx.relu(fc(self.dropout(x)))
    return x

  def __call__(self, x: jax.Array) -> jax.Array:
    return layers.logits_fp32(self.head(self.features(x)))


def alexnet(**kwargs) -> AlexNet:
  """AlexNet (61.10M params at 1000 classes)."""
  return AlexNet(**kwargs)
