"""Building blocks of DenseNet, MobileNet-V3 and AlexNet on tiny real inputs."""
from flax import nnx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust.models import alexnet
from jaxrobust.models import densenet
from jaxrobust.models import layers
from jaxrobust.models import mobilenet

F32 = jnp.float32


def test_dense_layer_appends_growth_channels_to_its_input(
    rngs, forward, images):
  layer = densenet.DenseLayer(8, growth=4, bn_size=2, dtype=F32, rngs=rngs())
  x = images(size=6, channels=8)
  y = forward(layer, x)
  assert y.shape == (4, 6, 6, 12)
  np.testing.assert_array_equal(y[..., :8], x)


@pytest.mark.parametrize('stem, final_map', [('imagenet', 4), ('small', 16)])
def test_densenet_stem_and_transition_downsample(
    rngs, forward, images, stem, final_map):
  model = densenet.DenseNet((1, 1), num_classes=3, rngs=rngs(),
                            growth=4, init_features=8, stem=stem)
  x = images(size=32)
  feature_map = nnx.eval_shape(lambda m, x: m.feature_map(x), model, x)
  # 8 stem channels + 4 grown, halved by the transition, + 4 grown again.
  assert feature_map.shape == (4, final_map, final_map, 10)
  assert forward(model, x).shape == (4, 3)


def test_squeeze_excite_scales_each_channel_by_a_gate_in_0_1(
    rngs, forward, images):
  se = mobilenet.SqueezeExcite(16, dtype=F32, rngs=rngs())
  x = jnp.abs(images(size=5, channels=16)) + 0.1
  gate = forward(se, x) / x
  assert np.all((gate >= 0) & (gate <= 1))
  # One gate per image and channel, the same at every pixel.
  np.testing.assert_allclose(gate.std(axis=(1, 2)), 0.0, atol=1e-6)


def test_squeeze_excite_width_follows_torchvision_rounding():
  # torchvision's SE after 72 expanded channels squeezes to 24, after 120 to 32.
  assert mobilenet.divisible(72 // 4) == 24
  assert mobilenet.divisible(120 // 4) == 32


@pytest.mark.parametrize('stride, residual, out_size', [
    (1, True, 8), (2, False, 4)])
def test_inverted_residual_skips_only_when_shape_is_kept(
    rngs, forward, images, stride, residual, out_size):
  spec = mobilenet.BlockSpec(kernel=3, expanded=32, out=16, squeeze_excite=True,
                             hard_swish=True, stride=stride)
  block = mobilenet.InvertedResidual(16, spec, 1.0, dtype=F32, rngs=rngs())
  assert block.residual == residual
  y = forward(block, images(size=8, channels=16))
  assert y.shape == (4, out_size, out_size, 16)


def test_adaptive_avg_pool_averages_torch_style_bins():
  x = jnp.arange(7.0).reshape(1, 7, 1, 1).repeat(7, axis=2)
  pooled = layers.adaptive_avg_pool(x, (3, 3))
  # Bins [floor(i*7/3), ceil((i+1)*7/3)): rows 0-2, 2-4, 4-6.
  np.testing.assert_allclose(pooled[0, :, 0, 0], [1.0, 3.0, 5.0])


def test_adaptive_avg_pool_repeats_pixels_of_maps_smaller_than_target():
  x = jnp.array([1.0, 2.0]).reshape(1, 2, 1, 1)
  pooled = layers.adaptive_avg_pool(x, (6, 1))
  np.testing.assert_allclose(pooled[0, :, 0, 0], [1, 1, 1, 2, 2, 2])


@pytest.mark.slow
def test_alexnet_dropout_is_active_only_in_train_mode(rngs, forward, images):
  model = alexnet.AlexNet(num_classes=3, rngs=rngs(), stem='small',
                          width=1 / 16)
  x = images(size=16)
  assert not np.allclose(forward(model, x), forward(model, x))
  model.eval()
  np.testing.assert_array_equal(forward(model, x), forward(model, x))


def test_alexnet_rejects_images_too_small_for_its_imagenet_stem(abstract_model):
  model = abstract_model('alexnet', num_classes=3, width=1 / 16)
  x = jax.ShapeDtypeStruct((1, 32, 32, 3), F32)
  with pytest.raises(ValueError, match='config.data.image_size'):
    nnx.eval_shape(lambda m, x: m(x), model, x)
