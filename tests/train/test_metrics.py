"""The engine's scores (jaxrobust.metrics) equal sklearn's (WILDS) definitions."""
import numpy as np
import pytest
from sklearn import metrics as skm

from jaxrobust import metrics


def _random_case(seed: int):
  rng = np.random.default_rng(seed)
  num_classes = int(rng.integers(2, 12))
  n = int(rng.integers(1, 60))
  # Some classes never occur in y_true, and predictions may name them.
  present = rng.choice(num_classes, size=max(1, num_classes // 2), replace=False)
  y_true = rng.choice(present, size=n)
  y_pred = np.where(rng.random(n) < 0.5, y_true, rng.integers(0, num_classes, n))
  return y_true, y_pred


@pytest.mark.parametrize('seed', range(40))
def test_macro_f1_equals_sklearn_over_labels_present_in_y_true(seed):
  y_true, y_pred = _random_case(seed)
  expected = skm.f1_score(y_true, y_pred, average='macro', labels=np.unique(y_true),
                          zero_division=0)
  assert metrics.macro_f1(y_true, y_pred) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize('seed', range(10))
def test_per_class_f1_and_accuracy_equal_sklearn(seed):
  y_true, y_pred = _random_case(seed)
  labels = np.unique(y_true)
  np.testing.assert_allclose(
      metrics.per_class_f1(y_true, y_pred),
      skm.f1_score(y_true, y_pred, average=None, labels=labels, zero_division=0))
  assert metrics.accuracy(y_true, y_pred) == pytest.approx(skm.accuracy_score(y_true, y_pred))


def test_predictions_of_absent_classes_lower_only_the_precision_of_present_ones():
  y_true = np.array([0, 0, 1, 1])
  y_pred = np.array([0, 2, 1, 2])  # class 2 is absent from y_true: it has no F1 term
  # class 0: P=1, R=1/2 -> 2/3; class 1 likewise.
  assert metrics.macro_f1(y_true, y_pred) == pytest.approx(2 / 3)
