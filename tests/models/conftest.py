"""Helpers for the model-zoo tests: abstract (shape-only) models and images."""
from flax import nnx
import jax
import pytest

from jaxrobust.models import build_model


@pytest.fixture
def abstract_model():
  """Builds a registry model with shape-only parameters (nothing computed)."""
  def build(name: str, num_classes: int = 1000, **kwargs) -> nnx.Module:
    return nnx.eval_shape(lambda: build_model(
        name, num_classes=num_classes, rngs=nnx.Rngs(0), **kwargs))
  return build


@pytest.fixture
def images():
  """Random NHWC float32 images."""
  def make(batch: int = 4, size: int = 32, channels: int = 3, seed: int = 0):
    return jax.random.normal(jax.random.key(seed), (batch, size, size, channels))
  return make


@pytest.fixture
def forward():
  """`forward(model, x)` = `model(x)` compiled (op-by-op dispatch is slow on CPU)."""
  return nnx.jit(lambda model, x: model(x))
