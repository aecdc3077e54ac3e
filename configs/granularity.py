"""Label granularity: the same images, trained on labels cut at coarser or finer levels.

Paper scale: all of ImageNet-1k with WordNet superclass labels at the cuts closest to the
study's 5/17/37/85/232/1000 classes (jaxrobust/data/wordnet; the committed table gives
6/17/37/81/237/1000 at longest_d2, longest_d4, longest_d5, longest_d6, shortest_d7 and the
1000 classes), and iNaturalist 2021 (train_mini) trained on each taxonomy rank, kingdom to
species. Granularity variants of one image set share one materialized subset. Arg `local`:
every level of `synthetic_nature` (5 orders, 20 families, 100 species).
"""
import ml_collections

from jaxrobust.configs import study_common as sc

IMAGENET_LEVELS = ('longest_d2', 'longest_d4', 'longest_d5', 'longest_d6', 'shortest_d7',
                   'label')
INATURALIST_RANKS = ('kingdom', 'phylum', 'class', 'order', 'family', 'genus', 'label')


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The granularity study; arg: see jaxrobust/configs/study_common.py."""
  c = sc.study_defaults('granularity', arg, 'Label granularity at fixed images.')
  if c.scale == 'paper':
    for level in IMAGENET_LEVELS:
      c.pretrain_settings[f'imagenet_{level}'] = sc.pretrain_setting(
          sc.subset(sc.IMAGENET, label_level=level))
    for rank in INATURALIST_RANKS:
      c.pretrain_settings[f'inat_{rank}'] = sc.pretrain_setting(
          sc.subset(sc.INATURALIST, label_level=rank))
    return c
  source = sc.sources_for(c.scale)['hierarchy']
  n = {'local': 2_000, 'test': 32}[c.scale]
  for level in sc.LOCAL_LEVELS[c.scale]:
    c.pretrain_settings[f'nature_{level}'] = sc.pretrain_setting(
        sc.subset(source, num_examples=n, label_level=level))
  return c
