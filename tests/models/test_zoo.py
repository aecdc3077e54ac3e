"""Every registered model: torchvision sizes, logits, head and dtype contract.

All checks here run on abstract (shape-only) models: nothing is initialized or
computed, so even the 224px-class networks cost only a trace.
"""
from flax import nnx
import jax
import jax.numpy as jnp
import pytest

from jaxrobust.models import model_names

# Parameter counts of the torchvision models with 1000 classes.
TORCHVISION_PARAMS = {
    'resnet18': 11_689_512,
    'resnet34': 21_797_672,
    'resnet50': 25_557_032,
    'resnet101': 44_549_160,
    'resnext50_32x4d': 25_028_904,
    'densenet121': 7_978_856,
    'alexnet': 61_100_840,
    'mobilenet_v3_large': 5_483_032,
    'mobilenet_v3_small': 2_542_856,
}
# Tracing a deep net costs seconds on a shared CPU, so forward passes are traced
# for one model per architecture class (resnet34/101 only stack more blocks of
# resnet18/50), and DenseNet-121 at one stem (test_architectures covers both).
FORWARD_CHECKED = [
    n for n in model_names() if n not in ('resnet34', 'resnet101')]
SMALL_STEM_CHECKED = [n for n in FORWARD_CHECKED if n != 'densenet121']


def small_stem_bf16(abstract_model, name: str) -> nnx.Module:
  return abstract_model(name, num_classes=5, stem='small', width=0.25,
                        dtype=jnp.bfloat16)


def params(model: nnx.Module) -> list[jax.ShapeDtypeStruct]:
  return jax.tree.leaves(nnx.state(model, nnx.Param))


def abstract_logits(model: nnx.Module, size: int) -> jax.ShapeDtypeStruct:
  """Logits' shape and dtype for 2 images of `size` px, traced in eval mode.

  Eval mode because tracing each BatchNorm statistics update costs O(trace
  size) in jax 0.10 (jax-ml/jax#40041); modes do not change the shapes.
  """
  def logits(model, x):
    model.eval()
    return model(x)
  x = jax.ShapeDtypeStruct((2, size, size, 3), jnp.float32)
  return nnx.eval_shape(logits, model, x)


@pytest.mark.slow
@pytest.mark.parametrize('name', sorted(TORCHVISION_PARAMS))
def test_param_count_matches_torchvision(abstract_model, name):
  count = sum(p.size for p in params(abstract_model(name)))
  assert count == pytest.approx(TORCHVISION_PARAMS[name], rel=0.01)


@pytest.mark.parametrize('name', model_names())
def test_head_is_a_linear_from_backbone_features_to_classes(
    abstract_model, name):
  model = abstract_model(name)
  assert isinstance(model.head, nnx.Linear)
  assert model.head.kernel.shape == (model.num_features, 1000)


@pytest.mark.parametrize('name', FORWARD_CHECKED)
def test_imagenet_stem_maps_images_to_logits_per_class(abstract_model, name):
  logits = abstract_logits(abstract_model(name), size=64)
  assert logits.shape == (2, 1000)


@pytest.mark.parametrize('name', SMALL_STEM_CHECKED)
def test_small_stem_bf16_model_returns_float32_logits(abstract_model, name):
  logits = abstract_logits(small_stem_bf16(abstract_model, name), size=32)
  assert logits.shape == (2, 5)
  assert logits.dtype == jnp.float32


@pytest.mark.parametrize('name', SMALL_STEM_CHECKED)
def test_bfloat16_compute_keeps_float32_params(abstract_model, name):
  dtypes = {p.dtype for p in params(small_stem_bf16(abstract_model, name))}
  assert dtypes == {jnp.dtype(jnp.float32)}
