"""Macro-F1 and accuracy from confusion counts, vectorized over bootstrap resamples.

Both metrics depend on a model's predictions only through the counts of its
(true class, predicted class) cells, so a bootstrap over test examples is a
multinomial draw over the observed cells (see `bootstrap.resample_cell_counts`).
Macro-F1 follows WILDS: sklearn's `f1_score(average='macro',
labels=np.unique(y_true))`, i.e. the mean per-class F1 over the classes present
in the ground truth of that (re)sample. This is the project's one macro-F1 (jax-free): the
engine scores its evaluations with `classification_scores` below, and the analysis
bootstraps it from the counts.
"""
import dataclasses

import numpy as np

from jaxrobust import errors


@dataclasses.dataclass(frozen=True)
class ConfusionCells:
  """The non-empty cells of a confusion matrix and their counts."""
  true_class: np.ndarray  # (C,) int, class index of each cell's ground truth
  pred_class: np.ndarray  # (C,) int, class index of each cell's prediction
  counts: np.ndarray      # (C,) int, examples in each cell
  num_classes: int

  @property
  def num_examples(self) -> int:
    return int(self.counts.sum())


def confusion_cells(labels, predictions) -> ConfusionCells:
  """The confusion cells of integer `labels` and `predictions` (same length)."""
  labels = np.asarray(labels).ravel()
  predictions = np.asarray(predictions).ravel()
  if labels.shape != predictions.shape or labels.size == 0:
    raise errors.UserError(
        f'labels and predictions must be non-empty and of equal length; got '
        f'{labels.size} labels and {predictions.size} predictions.')
  classes, index = np.unique(np.concatenate([labels, predictions]), return_inverse=True)
  num_classes = len(classes)
  cell = index[:labels.size] * num_classes + index[labels.size:]
  cells, counts = np.unique(cell, return_counts=True)
  return ConfusionCells(cells // num_classes, cells % num_classes, counts, num_classes)


def _sum_by_class(counts: np.ndarray, classes: np.ndarray, num_classes: int) -> np.ndarray:
  """Sums the last axis of `counts` over cells sharing a class -> (..., num_classes)."""
  order = np.argsort(classes, kind='stable')
  sorted_classes = classes[order]
  starts = np.flatnonzero(np.r_[True, sorted_classes[1:] != sorted_classes[:-1]])
  sums = np.add.reduceat(counts[..., order], starts, axis=-1)
  out = np.zeros(counts.shape[:-1] + (num_classes,), dtype=np.float64)
  out[..., sorted_classes[starts]] = sums
  return out


def per_class_f1_from_counts(cells: ConfusionCells, counts=None
                             ) -> tuple[np.ndarray, np.ndarray]:
  """(F1 of each class, whether it is in the ground truth), both (..., num_classes).

  Classes absent from the ground truth get F1 0 (they do not count in macro-F1).
  """
  counts = np.asarray(cells.counts if counts is None else counts, dtype=np.float64)
  true = _sum_by_class(counts, cells.true_class, cells.num_classes)
  pred = _sum_by_class(counts, cells.pred_class, cells.num_classes)
  diagonal = cells.true_class == cells.pred_class
  true_positives = np.zeros_like(true)
  true_positives[..., cells.true_class[diagonal]] = counts[..., diagonal]
  present = true > 0  # labels=unique(y_true): only classes in this sample's ground truth
  f1 = np.where(present, 2 * true_positives / np.maximum(true + pred, 1), 0.0)
  return f1, present


def macro_f1_from_counts(cells: ConfusionCells, counts=None) -> np.ndarray:
  """WILDS macro-F1 for cell `counts` of shape (..., C) (default: the observed counts)."""
  f1, present = per_class_f1_from_counts(cells, counts)
  return f1.sum(-1) / present.sum(-1)


def accuracy_from_counts(cells: ConfusionCells, counts=None) -> np.ndarray:
  """Accuracy for cell `counts` of shape (..., C) (default: the observed counts)."""
  counts = np.asarray(cells.counts if counts is None else counts, dtype=np.float64)
  diagonal = cells.true_class == cells.pred_class
  return counts[..., diagonal].sum(-1) / counts.sum(-1)


METRICS = {'macro_f1': macro_f1_from_counts, 'accuracy': accuracy_from_counts}


def metric_from_counts(metric: str, cells: ConfusionCells, counts=None) -> np.ndarray:
  """The named metric ('macro_f1' or 'accuracy') for cell counts."""
  if metric not in METRICS:
    raise errors.UserError(
        f'Unknown metric {metric!r}: use one of {sorted(METRICS)} (--metric).')
  return METRICS[metric](cells, counts)


def per_class_f1(labels, predictions) -> np.ndarray:
  """F1 of each class in `labels` (sorted class order; empty for an empty split)."""
  if np.asarray(labels).size == 0:
    return np.zeros(0)
  f1, present = per_class_f1_from_counts(confusion_cells(labels, predictions))
  return f1[present]


def macro_f1(labels, predictions) -> float:
  """WILDS macro-F1 of one split: the mean of `per_class_f1` (0.0 for an empty split)."""
  f1 = per_class_f1(labels, predictions)
  return float(np.mean(f1)) if f1.size else 0.0


def accuracy(labels, predictions) -> float:
  """Fraction of exact matches (0.0 for an empty split)."""
  labels, predictions = np.asarray(labels), np.asarray(predictions)
  return float(np.mean(labels == predictions)) if labels.size else 0.0


def classification_scores(labels, predictions) -> dict[str, float]:
  """{'accuracy', 'macro_f1', 'num_examples'} of one split."""
  return {'accuracy': accuracy(labels, predictions),
          'macro_f1': macro_f1(labels, predictions),
          'num_examples': int(np.asarray(labels).size)}
