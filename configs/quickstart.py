"""Quickstart: a whole study offline on a CPU in minutes (the README's main command).

Pre-trains a tiny ResNet on the generated natural-like source (`synthetic_nature`, ImageNet's
role) at three quantities plus a coarse-label variant, fine-tunes each on the generated
camera-trap benchmark (`synthetic_wildcam`) with four seeds, trains ten scratch baselines,
evaluates every model in- and out-of-distribution, fits effective robustness and writes the
report. The generated world is a positive control: its benchmark's shift has a known cause
that pre-training resists (see jaxrobust/datasets/builders/synthetic_wildcam.py), so the report
should find ER above 0 rising with quantity; `--config.data_seed=N` draws another world (it did
in 4 of the 5 worlds tried, seeds 0-4: README).
Arg `test`: the smallest version of the same (used by the test suite); `epochs`: pre-train
for a fixed number of epochs instead of a fixed number of steps.
"""
import ml_collections

from jaxrobust.study import recipes as sc

# 100 to 6,000 images (1 to 60 per class), log-spaced (800 ~ their geometric mean): ER rises
# from the scratch trend at 100 images to above it at 6,000 on data_seed 0, 1, 2 and 4, and
# rises without leaving it on 3 (README); with 1,500 in the middle, one world had already
# levelled off there.
_QUANTITIES = {'local': (100, 800, 6_000), 'test': (24, 48)}


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The quickstart study; arg: nothing (local scale) or 'test'."""
  c = sc.study_defaults('quickstart', f'local,{arg or ""}',  # always local
                        'Offline quickstart: quantity and label granularity, natural-like '
                        'source -> synthetic camera traps.')
  source = sc.sources_for(c.scale)['hierarchy']
  quantities = _QUANTITIES[c.scale]
  for n in quantities:
    c.pretrain_settings[f'n{n}'] = sc.pretrain_setting(sc.subset(source, num_examples=n))
  c.pretrain_settings[f'n{quantities[-1]}_coarse'] = sc.pretrain_setting(
      sc.subset(source, num_examples=quantities[-1], label_level=sc.COARSE_LEVEL))
  return c
