"""Quickstart: a whole study offline on a CPU in minutes (the README's main command).

Pre-trains a tiny ResNet on generated hierarchical fractals (`fractal_hierarchy`) at three
quantities plus a coarse-label variant, fine-tunes each on the generated camera-trap benchmark
(`synthetic_wildcam`) under two learning rates, trains six scratch baselines, evaluates every
model in- and out-of-distribution, fits effective robustness and writes the report.
Arg `test`: the smallest version of the same (used by the test suite); `epochs`: pre-train
for a fixed number of epochs instead of a fixed number of steps.
"""
import os
import sys

import ml_collections

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import study_common as sc  # pylint: disable=g-import-not-at-top,wrong-import-position

_QUANTITIES = {'local': (500, 1_000, 2_000), 'test': (16, 32)}


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The quickstart study; arg: nothing (local scale) or 'test'."""
  words = set((arg or '').split(',')) - {'', 'local'}  # always local; `local` is accepted
  if words - {'test', 'epochs'}:
    raise ValueError(f'Unknown configs/quickstart.py arg {arg!r}; use nothing, "test" or '
                     '"epochs".')
  c = sc.study_defaults('quickstart', ','.join(['local'] + sorted(words)),
                        'Offline quickstart: quantity and label granularity, fractals -> '
                        'synthetic camera traps.')
  source = sc.sources_for(c.scale)['hierarchy']
  quantities = _QUANTITIES[c.scale]
  for n in quantities:
    c.pretrain_settings[f'n{n}'] = sc.pretrain_setting(sc.subset(source, num_examples=n))
  c.pretrain_settings[f'n{quantities[-1]}_coarse'] = sc.pretrain_setting(
      sc.subset(source, num_examples=quantities[-1], label_level=sc.COARSE_LEVEL))
  return c
