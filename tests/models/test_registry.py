"""Registry and the model contract shared by every zoo model."""
from flax import nnx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxrobust.models import build_model
from jaxrobust.models import model_names


def test_model_names_lists_the_zoo():
  assert set(model_names()) == {
      'resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnext50_32x4d',
      'resnet_tiny', 'densenet121', 'alexnet', 'mobilenet_v3_small',
      'mobilenet_v3_large'}


def test_unknown_name_error_suggests_closest_and_lists_all():
  with pytest.raises(ValueError) as error:
    build_model('resnet81', num_classes=2, rngs=nnx.Rngs(0))
  message = str(error.value)
  assert "Did you mean 'resnet18'" in message
  assert 'config.model.name' in message
  for name in model_names():
    assert name in message


def test_train_mode_normalizes_with_batch_statistics_and_updates_them(
    rngs, images, forward):
  model = build_model('resnet_tiny', num_classes=3, rngs=rngs())
  model.train()
  x = images()
  before = jax.tree.map(jnp.copy, nnx.state(model, nnx.BatchStat))
  alone = forward(model, x[:1].repeat(2, axis=0))[0]
  in_batch = forward(model, x)[0]
  assert not np.allclose(alone, in_batch, atol=1e-4)  # depends on the batch
  after = nnx.state(model, nnx.BatchStat)
  changed = jax.tree.map(lambda a, b: not np.allclose(a, b), before, after)
  assert all(jax.tree.leaves(changed))


def test_eval_mode_uses_running_statistics_and_leaves_them_alone(
    rngs, images, forward):
  model = build_model('resnet_tiny', num_classes=3, rngs=rngs())
  model.eval()
  x = images()
  before = jax.tree.map(jnp.copy, nnx.state(model, nnx.BatchStat))
  np.testing.assert_allclose(forward(model, x[:1])[0], forward(model, x)[0],
                             atol=1e-5)
  after = nnx.state(model, nnx.BatchStat)
  jax.tree.map(np.testing.assert_array_equal, before, after)


@pytest.mark.parametrize('name, kwargs, mutable', [
    ('resnet_tiny', {}, nnx.BatchStat),                          # BatchNorm
    ('alexnet', {'stem': 'small', 'width': 1 / 16}, nnx.RngCount),  # dropout
])
@pytest.mark.slow
def test_functional_jit_train_step_updates_non_param_state(
    rngs, images, name, kwargs, mutable):
  """The engine's pattern: jit(value_and_grad) over nnx.split state."""
  model = build_model(name, num_classes=3, rngs=rngs(), **kwargs)
  graphdef, params, rest = nnx.split(model, nnx.Param, ...)
  labels = jnp.arange(4) % 3

  @jax.jit
  def step(params, rest, x):
    def loss_fn(params):
      # copy=True: `rest` is not differentiated, so its Variables must be
      # re-created inside grad's trace before BatchNorm/dropout update them.
      model = nnx.merge(graphdef, params, rest, copy=True)
      logits = model(x)
      loss = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
      return loss.mean(), nnx.split(model, nnx.Param, ...)[2]
    (loss, rest), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    return jax.tree.map(lambda p, g: p - 0.1 * g, params, grads), rest, loss

  new_params, new_rest, loss = step(params, rest, images(size=16))
  assert np.isfinite(loss)
  assert jax.tree.structure(new_params) == jax.tree.structure(params)
  for old, new in zip(jax.tree.leaves(nnx.filter_state(rest, mutable)),
                      jax.tree.leaves(nnx.filter_state(new_rest, mutable))):
    assert not np.array_equal(old, new)


def test_bfloat16_computes_in_bf16_with_float32_params_and_logits(
    rngs, images, forward):
  model = build_model('resnet_tiny', num_classes=3, rngs=rngs(),
                      dtype=jnp.bfloat16)
  reference = build_model('resnet_tiny', num_classes=3, rngs=rngs())
  model.eval()  # tracing a train-mode model outside jit would mutate it
  reference.eval()
  x = images()
  params = nnx.state(model, nnx.Param)
  assert {p.dtype for p in jax.tree.leaves(params)} == {jnp.dtype(jnp.float32)}
  jaxpr = str(jax.make_jaxpr(lambda x: model(x))(x))
  assert 'conv_general_dilated' in jaxpr and 'bf16' in jaxpr
  logits = forward(model, x)
  assert logits.dtype == jnp.float32
  # bf16 keeps 8 significant bits (rounding error 2**-9 = 0.2% of a value); a dozen layers of
  # bf16 activations add up to about 1% of the logits' scale (measured 0.4-0.7% over 4 inits x
  # 3 batches). Relative to each logit the error is unbounded (logits near 0), so the bound is
  # 2% of the largest reference logit.
  expected = np.asarray(forward(reference, x))
  np.testing.assert_allclose(logits, expected, rtol=0, atol=0.02 * np.abs(expected).max())
