"""Registry and the model contract shared by every zoo model."""
from flax import nnx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust.models import build_model
from jaxrobust.models import model_names


def tiny():
  return build_model('resnet_tiny', num_classes=3, rngs=nnx.Rngs(0))


def test_model_names_lists_the_zoo():
  assert {'resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnext50_32x4d',
          'resnet_tiny'} <= set(model_names())


def test_unknown_name_error_suggests_closest_and_lists_all():
  with pytest.raises(ValueError) as error:
    build_model('resnet81', num_classes=2, rngs=nnx.Rngs(0))
  message = str(error.value)
  assert "Did you mean 'resnet18'" in message
  assert 'config.model.name' in message
  for name in model_names():
    assert name in message


def test_train_mode_normalizes_with_batch_statistics_and_updates_them(
    images, forward):
  model = tiny()
  model.train()
  x = images()
  before = jax.tree.map(jnp.copy, nnx.state(model, nnx.BatchStat))
  alone = forward(model, x[:1].repeat(2, axis=0))[0]
  in_batch = forward(model, x)[0]
  after = nnx.state(model, nnx.BatchStat)
  assert not np.allclose(alone, in_batch, atol=1e-4)  # depends on the batch
  changed = jax.tree.map(lambda a, b: not np.allclose(a, b), before, after)
  assert all(jax.tree.leaves(changed))


def test_eval_mode_uses_running_statistics_and_leaves_them_alone(
    images, forward):
  model = tiny()
  model.eval()
  x = images()
  before = jax.tree.map(jnp.copy, nnx.state(model, nnx.BatchStat))
  np.testing.assert_allclose(forward(model, x[:1])[0], forward(model, x)[0],
                             atol=1e-5)
  after = nnx.state(model, nnx.BatchStat)
  jax.tree.map(np.testing.assert_array_equal, before, after)


def test_functional_jit_over_split_state_matches_the_stateful_call(
    images, forward):
  model = tiny()
  model.train()
  graphdef, params, rest = nnx.split(model, nnx.Param, ...)

  @jax.jit
  def functional_forward(params, rest, x):
    model = nnx.merge(graphdef, params, rest)
    return model(x), nnx.state(model, ...)

  x = images()
  logits, new_rest = functional_forward(params, rest, x)
  eager = forward(model, x)  # also updates the model's running statistics
  np.testing.assert_allclose(logits, eager, rtol=1e-5, atol=1e-5)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-6),
               new_rest, nnx.state(model, ...))


def test_bfloat16_computes_in_bf16_with_float32_params_and_logits(
    images, forward):
  model = build_model('resnet_tiny', num_classes=3, rngs=nnx.Rngs(0),
                      dtype=jnp.bfloat16)
  reference = build_model('resnet_tiny', num_classes=3, rngs=nnx.Rngs(0))
  model.eval()  # tracing a train-mode model would mutate its statistics
  reference.eval()
  x = images()
  params = nnx.state(model, nnx.Param)
  assert {p.dtype for p in jax.tree.leaves(params)} == {jnp.dtype(jnp.float32)}
  jaxpr = str(jax.make_jaxpr(lambda x: model(x))(x))
  assert 'conv_general_dilated' in jaxpr and 'bf16' in jaxpr
  logits = forward(model, x)
  assert logits.dtype == jnp.float32
  np.testing.assert_allclose(logits, forward(reference, x), rtol=0.1, atol=0.1)
