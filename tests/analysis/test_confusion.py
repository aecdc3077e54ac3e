"""Macro-F1 and accuracy from confusion counts match sklearn (the WILDS definition)."""
import numpy as np
from sklearn.metrics import f1_score

from jaxrobust.analysis import bootstrap
from jaxrobust import metrics


def _wilds_macro_f1(labels, predictions):
  return f1_score(labels, predictions, average='macro', labels=np.unique(labels),
                  zero_division=0)


def test_macro_f1_matches_sklearn_including_classes_only_predicted():
  rng = np.random.default_rng(0)
  labels = rng.integers(0, 7, 300)
  predictions = np.where(rng.random(300) < 0.6, labels, rng.integers(0, 9, 300))  # 7, 8: never true
  cells = metrics.confusion_cells(labels, predictions)
  assert np.isclose(metrics.macro_f1_from_counts(cells), _wilds_macro_f1(labels, predictions))
  assert np.isclose(metrics.accuracy_from_counts(cells), np.mean(labels == predictions))


def test_resampled_counts_give_the_macro_f1_of_the_resampled_examples():
  rng = np.random.default_rng(1)
  labels = rng.integers(0, 12, 40)  # small: resamples lose classes, as in rare iWildCam ones
  predictions = np.where(rng.random(40) < 0.5, labels, rng.integers(0, 12, 40))
  cells = metrics.confusion_cells(labels, predictions)
  classes = np.unique(np.r_[labels, predictions])
  code = lambda y, p: y * cells.num_classes + p
  cell_of_example = np.searchsorted(
      code(cells.true_class, cells.pred_class),
      code(np.searchsorted(classes, labels), np.searchsorted(classes, predictions)))
  index = rng.integers(0, 40, size=(50, 40))
  counts = np.stack([np.bincount(cell_of_example[i], minlength=len(cells.counts))
                     for i in index])
  expected = [_wilds_macro_f1(labels[i], predictions[i]) for i in index]
  np.testing.assert_allclose(metrics.macro_f1_from_counts(cells, counts), expected)


def test_multinomial_resampling_matches_example_resampling_in_distribution():
  rng = np.random.default_rng(2)
  labels = rng.integers(0, 5, 500)
  predictions = np.where(rng.random(500) < 0.7, labels, rng.integers(0, 5, 500))
  _, by_cells = bootstrap.metric_replicates(labels, predictions, 'macro_f1', 4000, rng)
  index = rng.integers(0, 500, size=(4000, 500))
  by_examples = [_wilds_macro_f1(labels[i], predictions[i]) for i in index[:400]]
  assert abs(by_cells.std() - np.std(by_examples)) < 0.15 * np.std(by_examples)
  assert abs(by_cells.mean() - np.mean(by_examples)) < 0.2 * np.std(by_examples)
