"""The training engine: one loop for pre-training, fine-tuning and scratch runs."""
from jaxrobust.train.loop import run_single, train_and_evaluate

__all__ = ['run_single', 'train_and_evaluate']
