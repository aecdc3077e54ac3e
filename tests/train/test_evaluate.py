"""Evaluation scores every example of a split exactly once, in order, on 1 or 8 devices."""

import jax
from jax.sharding import Mesh
import numpy as np

from tests.helpers.engine import tiny_config
from jaxrobust.input import decoded_cache
from jaxrobust.input import loading
from jaxrobust.input import pipeline
from jaxrobust.input.preprocess import EvalPreprocess
from jaxrobust.train import evaluate
from jaxrobust.train import loop
from jaxrobust.train import mesh as mesh_lib
from jaxrobust.train import step


def _evaluate_on(num_devices: int, model_def, params, batch_stats, source):
  mesh = Mesh(np.asarray(jax.devices()[:num_devices]), (mesh_lib.DATA_AXIS,))
  eval_step = step.make_eval_step(model_def, mesh, normalization='imagenet',
                                  compute_dtype=np.float32, with_logits=True)
  return evaluate.evaluate_split(
      eval_step, mesh_lib.replicate(params, mesh), mesh_lib.replicate(batch_stats, mesh),
      source, EvalPreprocess(image_size=16), mesh=mesh, batch_size=16)


def test_every_example_is_scored_once_on_one_and_on_eight_devices(data_dir):
  builder = loading.open_dataset('tiny_images', str(data_dir))
  source = loading.open_split(builder, 'test')  # 37 examples: 3 batches of 16, padded
  model = loop.init_model(tiny_config(data_dir), num_classes=4)
  model_def, params, batch_stats = step.split_model(model)
  labels = np.array([source[i]['label'] for i in range(len(source))])

  one = _evaluate_on(1, model_def, params, batch_stats, source)
  eight = _evaluate_on(8, model_def, params, batch_stats, source)
  for outputs in (one, eight):
    np.testing.assert_array_equal(outputs['labels'], labels)
    assert outputs['predictions'].shape == outputs['logits'].shape[:1] == (37,)
  np.testing.assert_array_equal(one['predictions'], eight['predictions'])
  np.testing.assert_allclose(one['logits'], eight['logits'], rtol=1e-5, atol=1e-5)


def test_a_decoded_split_is_batched_once_for_every_later_evaluation(data_dir, monkeypatch):
  builder = loading.open_dataset('tiny_images', str(data_dir))
  transform = EvalPreprocess(image_size=16)
  split = decoded_cache.DecodedSplits().get(loading.open_split(builder, 'test'), transform,
                                            ('tiny', 'test'), budget_mb=1)
  model_def, params, batch_stats = step.split_model(
      loop.init_model(tiny_config(data_dir), num_classes=4))
  pipelines = []
  make_iterator = pipeline.make_iterator
  monkeypatch.setattr(pipeline, 'make_iterator',
                      lambda *a, **k: pipelines.append(1) or make_iterator(*a, **k))
  read = _evaluate_on(1, model_def, params, batch_stats, loading.open_split(builder, 'test'))
  first, again = (_evaluate_on(1, model_def, params, batch_stats, split) for _ in range(2))
  assert len(pipelines) == 2  # the plain split, then the decoded one once
  for outputs in (first, again):
    for key in ('labels', 'predictions', 'logits'):
      np.testing.assert_array_equal(outputs[key], read[key])
