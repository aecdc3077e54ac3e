"""Label granularity: the same images, trained on labels cut at coarser or finer levels.

Paper scale: all of ImageNet-1k with WordNet superclass labels from one tree (one parent per
synset, jaxrobust/datasets/wordnet/README.md) cut at depths 2, 4, 5, 6, 7: 5/14/32/76/193 classes
against the study's 5/17/37/85/232, nested (each level refines the next), plus the 1000 classes;
and iNaturalist 2021 (train_mini) trained on each taxonomy rank, kingdom to species.
At tree depths 2-6 all 398 animal classes (the fine-tune target is animals) share one class:
granularity is confounded with semantics there. Arg `balanced`: the same tree cut by splitting
its largest class (`balanced_5/17/37/85/232`: 4/16/36/91/231 classes) instead, which spreads the
animal classes from 36 classes on. Granularity variants of one image set share one materialized
subset. Arg `local`: every level of `synthetic_nature` (5 orders, 20 families, 100 species).
"""
import ml_collections

from jaxrobust.study import recipes as sc

IMAGENET_LEVELS = ('tree_d2', 'tree_d4', 'tree_d5', 'tree_d6', 'tree_d7', 'label')
IMAGENET_BALANCED_LEVELS = ('balanced_5', 'balanced_17', 'balanced_37', 'balanced_85',
                            'balanced_232', 'label')
INATURALIST_RANKS = ('kingdom', 'phylum', 'class', 'order', 'family', 'genus', 'label')


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The granularity study; arg: see jaxrobust/study/recipes.py."""
  words = (arg or '').split(',')
  balanced = 'balanced' in words
  c = sc.study_defaults('granularity', ','.join(w for w in words if w != 'balanced') or None,
                        'Label granularity at fixed images.')
  if balanced and c.scale != 'paper':
    raise ValueError("Config arg 'balanced' picks ImageNet levels: paper scale only.")
  if c.scale == 'paper':
    for level in IMAGENET_BALANCED_LEVELS if balanced else IMAGENET_LEVELS:
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
