"""Quickstart: a whole study offline on a CPU in minutes (the README's main command).

Pre-trains a tiny ResNet on generated hierarchical fractals (`fractal_hierarchy`) at three
quantities plus a coarse-label variant, fine-tunes each on the generated camera-trap benchmark
(`synthetic_wildcam`) under two learning rates, trains six scratch baselines, evaluates every
model in- and out-of-distribution, fits effective robustness and writes the report.
Arg `test`: the smallest version of the same (used by the test suite); `epochs`: pre-train
for a fixed number of epochs instead of a fixed number of steps.
"""
import ml_collections

from jaxrobust.configs import study_common as sc

_QUANTITIES = {'local': (500, 1_000, 2_000), 'test': (16, 32)}


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The quickstart study; arg: nothing (local scale) or 'test'."""
  c = sc.study_defaults('quickstart', f'local,{arg or ""}',  # always local
                        'Offline quickstart: quantity and label granularity, fractals -> '
                        'synthetic camera traps.')
  source = sc.sources_for(c.scale)['hierarchy']
  quantities = _QUANTITIES[c.scale]
  for n in quantities:
    c.pretrain_settings[f'n{n}'] = sc.pretrain_setting(sc.subset(source, num_examples=n))
  c.pretrain_settings[f'n{quantities[-1]}_coarse'] = sc.pretrain_setting(
      sc.subset(source, num_examples=quantities[-1], label_level=sc.COARSE_LEVEL))
  return c
