"""ResNet / ResNeXt: stems, width, grouped convs, zero-initialized residuals."""
from flax import nnx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust.models import build_model
from jaxrobust.models import resnet


@pytest.mark.parametrize('stem, final_map', [
    ('imagenet', 4),  # 7x7/2 + max-pool /2, then one strided stage: 32 -> 4
    ('small', 16),    # 3x3/1, no pool, then one strided stage: 32 -> 16
])
def test_stem_sets_downsampling_and_logits_shape(
    rngs, forward, images, stem, final_map):
  model = build_model('resnet_tiny', num_classes=7, rngs=rngs(), stem=stem)
  x = images(size=32)
  feature_map = nnx.eval_shape(lambda m, x: m.feature_map(x), model, x)
  assert feature_map.shape[1:3] == (final_map, final_map)
  assert forward(model, x).shape == (4, 7)


def test_unknown_stem_is_rejected_with_the_config_field(rngs):
  with pytest.raises(ValueError, match='config.model.stem'):
    build_model('resnet_tiny', num_classes=2, rngs=rngs(), stem='cifar')


def test_bottleneck_head_reads_four_times_the_last_stage_width(abstract_model):
  model = abstract_model('resnet50', num_classes=10, width=0.25)
  assert model.head.kernel.shape == (4 * 128, 10)


def test_width_multiplier_scales_conv_params_quadratically(abstract_model):
  def count(model):
    return sum(p.size for p in jax.tree.leaves(nnx.state(model, nnx.Param)))
  ratio = count(abstract_model('resnet18', width=0.5)) / count(
      abstract_model('resnet18'))
  assert 0.2 < ratio < 0.3


def test_resnext_uses_grouped_3x3_convs(abstract_model):
  first = abstract_model('resnext50_32x4d').blocks[0].conv2.conv
  assert first.feature_group_count == 32
  assert first.kernel.shape == (3, 3, 4, 128)  # 128 channels in 32 groups of 4


@pytest.mark.parametrize('block, last', [
    (resnet.BasicBlock, 'conv2'), (resnet.Bottleneck, 'conv3')])
def test_each_residual_block_starts_as_identity_plus_relu(
    rngs, forward, images, block, last):
  b = block(32, 32 // block.expansion, 1, dtype=jnp.float32, rngs=rngs())
  np.testing.assert_array_equal(getattr(b, last).bn.scale[...], 0.0)
  np.testing.assert_array_equal(b.conv1.bn.scale[...], 1.0)
  x = images(size=8, channels=32)
  np.testing.assert_allclose(forward(b, x), jax.nn.relu(x), atol=1e-6)
