"""fractaldb: category search, rendering, instances, determinism, on-disk dataset."""
import collections
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow_datasets as tfds

from jaxrobust.datasets import fractals
from jaxrobust.datasets.builders import encode_image
from jaxrobust.datasets.fractals import ifs, reference, render
from jaxrobust.datasets.fractals.search import SearchSettings, Systems, measure_fill_rates

MICRO = 'fractaldb/tiny/num_classes=3,num_instances=4,test_instances=1'


def test_every_category_base_system_meets_the_fill_rate(fractaldb_tiny):
  config = fractaldb_tiny.builder_config
  systems = Systems.from_json(fractaldb_tiny.info.metadata['systems'])
  assert len(systems) == config.num_classes
  settings = config.search_settings()
  # Re-render every stored system with the random stream the search used.
  rates = measure_fill_rates(systems.coeffs, systems.probs, systems.search_ids, config.seed,
                             settings, render.data_mesh())
  np.testing.assert_allclose(rates, systems.fill_rates)
  assert rates.min() >= settings.fill_threshold == 0.2


def test_base_systems_have_two_to_seven_maps_with_det_proportional_probabilities(fractaldb_tiny):
  systems = Systems.from_json(fractaldb_tiny.info.metadata['systems'])
  num_maps = (systems.probs > 0).sum(axis=1)
  assert num_maps.min() >= 2 and num_maps.max() <= 7
  np.testing.assert_allclose(systems.probs, ifs.map_probabilities(systems.coeffs), atol=1e-6)
  assert np.abs(systems.coeffs).max() <= 1.0


def test_splits_hold_every_category_with_its_instance_count(fractaldb_tiny, records):
  config = fractaldb_tiny.builder_config
  train, test = records(fractaldb_tiny, 'train'), records(fractaldb_tiny, 'test')
  assert collections.Counter(r['label'] for r in train) == {
      c: config.num_instances for c in range(config.num_classes)}
  assert collections.Counter(r['label'] for r in test) == {
      c: config.test_instances for c in range(config.num_classes)}
  assert {r['instance'] for r in test}.isdisjoint({r['instance'] for r in train})
  assert train[0]['image'].shape == (32, 32, 3) and train[0]['image'].dtype == np.uint8


def test_files_are_array_record_with_png_images(fractaldb_tiny):
  files = sorted(p.name for p in pathlib.Path(fractaldb_tiny.data_dir).iterdir())
  assert 'fractaldb-train.array_record-00000-of-00001' in files
  assert fractaldb_tiny.info.features['image'].encoding_format == 'png'


def _data_files(builder) -> dict[str, bytes]:
  root = pathlib.Path(builder.data_dir)
  return {p.name: p.read_bytes() for p in root.iterdir()
          if 'array_record' in p.name or p.name == 'metadata.json'}


def test_same_seed_gives_byte_identical_datasets(tmp_path, build_dataset):
  first = _data_files(build_dataset(MICRO, tmp_path / 'a'))
  second = _data_files(build_dataset(MICRO, tmp_path / 'b'))
  assert len(first) == 3 and first == second


def test_another_seed_gives_other_categories(tmp_path, build_dataset):
  one = build_dataset(MICRO, tmp_path / 'a').info.metadata['systems']['coeffs']
  other = build_dataset(MICRO + ',seed=1', tmp_path / 'b').info.metadata['systems']['coeffs']
  assert one != other


def test_config_fields_can_be_overridden_by_name():
  builder = tfds.builder('fractaldb/tiny/num_classes=3,image_size=24', data_dir='/nonexistent')
  config = builder.builder_config
  assert (config.name, config.num_classes, config.image_size) == (
      'tiny-image_size=24,num_classes=3', 3, 24)
  assert config.num_instances == 20  # the rest comes from `tiny`


def test_paper_config_uses_official_settings():
  config = tfds.builder('fractaldb/1k', data_dir='/nonexistent').builder_config
  assert (config.num_classes, config.num_instances, config.image_size, config.num_points) == (
      1000, 1000, 362, 200_000)
  assert config.search_settings() == SearchSettings()


def test_first_hundred_instances_cover_every_weight_and_flip_once():
  plans = [ifs.instance_plan(i) for i in range(100)]
  assert len(set(plans)) == 100
  assert {f for _, f in plans[:4]} == {0, 1, 2, 3}


def test_instance_perturbs_one_coefficient_by_a_paper_weight():
  coeffs = np.random.default_rng(0).uniform(-1, 1, (3, 6)).astype(np.float32)
  for variant in range(1, 25):
    ratio = ifs.perturb(coeffs, variant) / coeffs
    changed = ~np.isclose(ratio, 1.0)
    assert changed.any(axis=0).sum() == 1  # one coefficient, in every map
    assert np.round(ratio[changed][0], 3) in ifs.WEIGHT_FACTORS


def test_patch_drawing_equals_the_per_point_loop():
  rng = np.random.default_rng(0)
  coeffs, probs = ifs.sample_system(rng, 3, 3)
  points = np.asarray(render.chaos_game(jnp.asarray(coeffs * 0.6), jnp.asarray(probs),
                                        jnp.uint32(1), num_points=5000, num_chains=100))
  patch = rng.random((3, 3, 3), dtype=np.float32)
  loop = reference.draw_patches(points, 64, patch)
  vectorized = np.asarray(render.stamp_patch(render.last_hits(jnp.asarray(points), 64),
                                             jnp.asarray(patch)))
  # Float rounding may move a rare point to the neighbouring pixel.
  assert (loop == vectorized).all(axis=-1).mean() > 0.999


def test_parallel_chains_trace_the_attractor_of_one_long_chain():
  sierpinski = np.asarray([[0.5, 0, 0, 0.5, 0, 0], [0.5, 0, 0, 0.5, 0.5, 0],
                          [0.5, 0, 0, 0.5, 0.25, 0.5]], np.float32)
  probs = np.full(3, 1 / 3, np.float32)
  one_chain = reference.chaos_game(sierpinski, probs, 50_000, np.random.default_rng(0))
  chains = np.asarray(render.chaos_game(jnp.asarray(sierpinski), jnp.asarray(probs),
                                        jnp.uint32(7), num_points=50_000, num_chains=500))
  ones = np.ones((3, 3, 1), np.float32)
  a = reference.draw_patches(one_chain, 128, ones)[..., 0] > 0
  b = reference.draw_patches(chains, 128, ones)[..., 0] > 0
  assert (a & b).sum() / (a | b).sum() > 0.9


def test_images_do_not_depend_on_batch_or_device_count(fractaldb_tiny):
  systems = Systems.from_json(fractaldb_tiny.info.metadata['systems'])
  settings = fractals.RenderSettings(image_size=32, render_size=64, num_points=4000,
                                     batch_size=8)
  pairs = [(c, i) for c in range(3) for i in range(3)]
  eight = jax.make_mesh((8,), ('data',), axis_types=(jax.sharding.AxisType.Auto,))
  one = jax.make_mesh((1,), ('data',), axis_types=(jax.sharding.AxisType.Auto,),
                      devices=jax.devices()[:1])
  batched = [im for *_, im in fractals.render_instances(systems, pairs, 0, settings, eight)]
  single = [im for p in pairs for *_, im in fractals.render_instances(
      systems, [p], 0, settings, one)]
  np.testing.assert_array_equal(np.stack(batched), np.stack(single))


def test_diverging_points_are_dropped_not_drawn():
  points = jnp.asarray([[0.0, 0.0], [1.0, 1.0], [jnp.inf, 0.0], [jnp.nan, 2.0]])
  hits = np.asarray(render.last_hits(points, 32))
  assert (hits >= 0).sum() == 2 and set(hits[hits >= 0]) == {0, 1}


def test_unknown_image_format_is_a_clear_error():
  with pytest.raises(ValueError, match="'png' or 'jpeg'"):
    encode_image(np.zeros((4, 4, 3), np.uint8), 'gif')
