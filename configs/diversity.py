"""Image diversity: superclasses built from r of their subclasses at a fixed total.

Paper scale: ImageNet-1k superclasses at the WordNet cut `longest_d7` that have at least 8
subclasses (20 of them), each trained as one class from r = 1, 2, 4 or 8 of its subclasses,
700 images per superclass whatever r (ImageNet's smallest class has 732 images), so only the
within-class diversity changes. Arg `local`: `synthetic_nature`'s 20 families (middle level) from
r of their 5 fine classes, 40 images each.
"""
import ml_collections
import numpy as np

from jaxrobust.study import recipes as sc

IMAGENET_LEVEL = 'longest_d7'
# Superclass level, ratios r and images per superclass (at most r_min x the images of a class).
LOCAL_LEVEL = {'local': 'level2', 'test': 'level1'}  # small: 20 x 5 subclasses; tiny: 2 x 3
RATIOS = {'paper': (1, 2, 4, 8), 'local': (1, 2, 4), 'test': (1, 2)}
IMAGES_PER_SUPERCLASS = {'paper': 700, 'local': 40, 'test': 8}


def imagenet_classes_under_rich_superclasses(level: str, min_subclasses: int) -> list[str]:
  """wnids of the ImageNet classes whose superclass at `level` has >= min_subclasses of them."""
  from jaxrobust.datasets import hierarchy  # pylint: disable=g-import-not-at-top
  h = hierarchy.load_hierarchy(sc.IMAGENET, None)  # the committed WordNet table
  ancestors = h.ancestors[level]
  counts = np.bincount(ancestors, minlength=len(h.classes[level]))
  return [h.classes['label'][i] for i in np.flatnonzero(counts[ancestors] >= min_subclasses)]


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The diversity study; arg: see jaxrobust/study/recipes.py."""
  c = sc.study_defaults('diversity', arg, 'Subclasses per superclass at a fixed total.')
  ratios, per_superclass = RATIOS[c.scale], IMAGES_PER_SUPERCLASS[c.scale]
  if c.scale == 'paper':
    source, level = sc.IMAGENET, IMAGENET_LEVEL
    class_filter = imagenet_classes_under_rich_superclasses(level, max(ratios))
  else:
    source, level, class_filter = (sc.sources_for(c.scale)['hierarchy'], LOCAL_LEVEL[c.scale],
                                   None)
  for r in ratios:
    c.pretrain_settings[f'r{r}'] = sc.pretrain_setting(sc.subset(
        source, class_filter=class_filter,
        diversity=sc.diversity(level, subclasses_per_superclass=r,
                               images_per_superclass=per_superclass)))
  return c
