"""Data source: ImageNet, iNaturalist, FractalDB and their mixtures at the same size.

Paper scale: 150K images from ImageNet-1k, iNaturalist 2021 (train_mini), FractalDB-1k, and
50/50 mixtures ImageNet+iNaturalist and ImageNet+FractalDB (label spaces kept disjoint).
Arg `local`: the natural-like `synthetic_nature`, fractals (`fractaldb/small`) and their
50/50 mixture.
"""
import ml_collections

from jaxrobust.configs import study_common as sc

_SIZE = {'paper': 150_000, 'local': 3_000, 'test': 32}


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The sources study; arg: see jaxrobust/configs/study_common.py."""
  c = sc.study_defaults('sources', arg, 'Pre-training data source and mixtures.')
  n = _SIZE[c.scale]
  s = sc.sources_for(c.scale)
  if c.scale == 'paper':
    singles = {'imagenet': s['hierarchy'], 'inat': s['taxonomy'], 'fractaldb': s['fractaldb']}
    mixtures = {'imagenet_inat': (s['hierarchy'], s['taxonomy']),
                'imagenet_fractaldb': (s['hierarchy'], s['fractaldb'])}
  else:  # (the test scale leaves out the natural-only setting the others train)
    singles = {'nature': s['hierarchy'], 'fractaldb': s['fractaldb']}
    if c.scale == 'test':
      del singles['nature']
    mixtures = {'nature_fractaldb': (s['hierarchy'], s['fractaldb'])}
  for name, source in singles.items():
    c.pretrain_settings[name] = sc.pretrain_setting(sc.subset(source, num_examples=n))
  for name, (a, b) in mixtures.items():
    c.pretrain_settings[name] = sc.pretrain_setting(
        sc.subset((a, 0.5), (b, 0.5), num_examples=n))
  return c
