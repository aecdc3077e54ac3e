"""Classification metrics as WILDS computes them, in numpy (no sklearn at run time)."""
import numpy as np


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
  """Fraction of exact matches (0.0 for an empty split)."""
  y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
  return float(np.mean(y_true == y_pred)) if y_true.size else 0.0


def per_class_f1(y_true: np.ndarray, y_pred: np.ndarray,
                 labels: np.ndarray | None = None) -> np.ndarray:
  """F1 of each class in `labels` (default: the classes present in `y_true`); 0 if undefined."""
  y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
  labels = np.unique(y_true) if labels is None else np.asarray(labels)
  true_pos = np.array([np.sum((y_true == c) & (y_pred == c)) for c in labels], np.float64)
  support = np.array([np.sum(y_true == c) for c in labels], np.float64)
  predicted = np.array([np.sum(y_pred == c) for c in labels], np.float64)
  # F1 = 2TP / (|true| + |pred|); sklearn's zero_division=0 when both are empty.
  denominator = support + predicted
  return np.divide(2 * true_pos, denominator, out=np.zeros_like(true_pos),
                   where=denominator > 0)


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
  """WILDS macro-F1: sklearn `f1_score(average='macro', labels=np.unique(y_true))`.

  Classes absent from `y_true` do not count, even when predicted.
  """
  if np.asarray(y_true).size == 0:
    return 0.0
  return float(np.mean(per_class_f1(y_true, y_pred)))


def classification_scores(labels: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
  """{'accuracy', 'macro_f1', 'num_examples'} of one split."""
  return {'accuracy': accuracy(labels, predictions),
          'macro_f1': macro_f1(labels, predictions),
          'num_examples': int(np.asarray(labels).size)}
