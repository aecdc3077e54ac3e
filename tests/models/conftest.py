"""Model-zoo test helpers: abstract models, fast RNGs, images, compiled call."""
import functools

from flax import nnx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust.models import build_model


@pytest.fixture
def rngs():
  """`rngs(seed)` -> nnx.Rngs on the 'rbg' PRNG.

  Initializing a model eagerly compiles one random-number program per weight
  shape; 'rbg' programs compile about 4x faster than the default threefry.
  """
  return lambda seed=0: nnx.Rngs(jax.random.key(seed, impl='rbg'))


@pytest.fixture
def images():
  """`images(batch, size, channels)` -> random NHWC float32 images."""
  def make(batch: int = 4, size: int = 32, channels: int = 3, seed: int = 0):
    # numpy, not jax.random: each new shape would compile a threefry program.
    shape = (batch, size, size, channels)
    x = np.random.default_rng(seed).standard_normal(shape)
    return jnp.asarray(x, jnp.float32)
  return make


@pytest.fixture
def forward():
  """`forward(model, x)` = `model(x)` compiled (op-by-op dispatch is slow)."""
  return nnx.jit(lambda model, x: model(x))


@functools.cache
def _abstract_model(name: str, num_classes: int = 1000, **kwargs) -> nnx.Module:
  return nnx.eval_shape(lambda: build_model(
      name, num_classes=num_classes, rngs=nnx.Rngs(0), **kwargs))


@pytest.fixture
def abstract_model():
  """`abstract_model(name, num_classes, **kwargs)` -> shape-only model.

  Nothing is initialized or computed, and each argument set is built once per
  session; treat the result as read-only.
  """
  return _abstract_model
