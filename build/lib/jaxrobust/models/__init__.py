"""Flax NNX model zoo; `build_model(name, ...)` is the entry point."""
from jaxrobust.models.registry import build_model, model_names

__all__ = ['build_model', 'model_names']
