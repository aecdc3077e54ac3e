"""Scratch baselines alone: the models the effective-robustness trend is fitted to.

Paper scale: iWildCam-WILDS trained from random initialization with the WILDS ERM recipe
across ResNet-18/50, ResNeXt-50 (32x4d), DenseNet-121, MobileNet-V3 (large, small) and AlexNet,
three learning rates each, plus shorter/longer training and two more seeds for ResNet-50: 25
models (jaxrobust/study/recipes.py, `_paper`). Nothing is pre-trained here.
Every other study trains the same baselines (same run ids, so a shared workdir trains them
once). Arg `local`: tiny ResNets of several widths on `synthetic_wildcam`.
"""
import ml_collections

from jaxrobust.study import recipes as sc


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The scratch-baselines study; arg: see jaxrobust/study/recipes.py."""
  c = sc.study_defaults('scratch', arg, 'Models trained from scratch on the fine-tune dataset.')
  c.finetune_settings = ml_collections.ConfigDict()  # nothing is pre-trained here
  return c
