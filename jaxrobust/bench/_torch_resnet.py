"""The PyTorch reference of `bench train`: the engine's ResNet-18, trained the same way.

torchvision's ResNet-18 layout (or the tests' resnet_tiny) with the 'small' stem (3x3/1 conv, no max-pool), zero-init
last BatchNorm of each block, SGD with momentum and weight decay, softmax cross-entropy on
uint8 images normalized inside the step: what `step.make_train_step` runs, written as a
PyTorch user writes it. Imported only when torch is installed (the `diffusion` extra).
"""
from collections.abc import Callable
import os
import time

import numpy as np
import torch
from torch import nn

from jaxrobust.train import step as step_lib


def _conv_bn(cin: int, cout: int, kernel: int, stride: int, zero_init: bool = False
             ) -> nn.Sequential:
  bn = nn.BatchNorm2d(cout, momentum=0.1, eps=1e-5)
  if zero_init:
    nn.init.zeros_(bn.weight)
  return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False), bn)


class _BasicBlock(nn.Module):

  def __init__(self, cin: int, planes: int, stride: int):
    super().__init__()
    self.branch = nn.Sequential(_conv_bn(cin, planes, 3, stride), nn.ReLU(inplace=True),
                                _conv_bn(planes, planes, 3, 1, zero_init=True))
    self.shortcut = (nn.Identity() if stride == 1 and cin == planes
                     else _conv_bn(cin, planes, 1, stride))

  def forward(self, x: torch.Tensor) -> torch.Tensor:
    return torch.relu(self.branch(x) + self.shortcut(x))


# The engine's basic-block ResNets (jaxrobust.models.resnet): blocks per stage, stage widths.
ARCHS = {'resnet18': ((2, 2, 2, 2), (64, 128, 256, 512)), 'resnet_tiny': ((1, 1), (8, 16))}


def resnet_small_stem(arch: str, num_classes: int) -> nn.Module:
  """The basic-block ResNet `arch` (ARCHS) whose stem does not downsample."""
  stage_sizes, widths = ARCHS[arch]
  layers, cin = [_conv_bn(3, widths[0], 3, 1), nn.ReLU(inplace=True)], widths[0]
  for stage, (size, planes) in enumerate(zip(stage_sizes, widths)):
    for i in range(size):
      layers.append(_BasicBlock(cin, planes, 2 if stage > 0 and i == 0 else 1))
      cin = planes
  layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, num_classes)]
  return nn.Sequential(*layers)


def make_train_step(*, arch: str, num_classes: int, batch: dict[str, np.ndarray],
                    channels_last: bool, learning_rate: float, momentum: float,
                    weight_decay: float) -> Callable[[], float]:
  """A closure running one training step on `batch` (NHWC uint8 images); returns the loss."""
  torch.set_num_threads(os.cpu_count())
  torch.manual_seed(0)
  memory_format = torch.channels_last if channels_last else torch.contiguous_format
  model = resnet_small_stem(arch, num_classes).to(memory_format=memory_format).train()
  optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate, momentum=momentum,
                              weight_decay=weight_decay)
  mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in step_lib.NORMALIZATIONS['imagenet'])
  images = torch.from_numpy(batch['image']).permute(0, 3, 1, 2)  # NHWC -> NCHW view
  labels = torch.from_numpy(batch['label']).long()
  loss_fn = nn.CrossEntropyLoss()

  def train_step() -> float:
    x = ((images.float() - mean) / std).contiguous(memory_format=memory_format)
    loss = loss_fn(model(x), labels)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.item()

  return train_step


def seconds_per_step(train_step: Callable[[], float], steps: int) -> float:
  """Mean wall seconds of `steps` calls of `train_step` (each ends synchronized)."""
  start = time.perf_counter()
  for _ in range(steps):
    train_step()
  return (time.perf_counter() - start) / steps
