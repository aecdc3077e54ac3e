"""Image diversity: superclasses built from r of their subclasses at a fixed total.

Paper scale, on both sources, r = 1, 2, 3 (per-class diversity reduced up to 3x at a fixed
total), each superclass trained as one class:
  ImageNet-1k: the 44 superclasses at the WordNet cut `longest_d7` with at least 3 subclasses,
    700 images each whatever r (ImageNet's smallest class has 732): 30,800 images.
  iNaturalist 2017: 100 genera (the genus is the first word of a species' name) with at least 3
    species of 50 or more training images, 50 images each: 5,000 images. 2017's per-species
    counts at this rule are not checked offline; if it has fewer such genera the subset build
    names the largest feasible `num_classes`.
Every r of a source draws from the same superclasses and subclasses (`diversity.max_ratio`), so
only the within-class diversity changes. Pre-training length: 90 epochs of each subset (same
steps for every r of a source: 10,800 steps of 256 on ImageNet's 30,800 images, 1,710 on
iNaturalist's 5,000), warm-up 5 epochs; equal steps at the paper recipe's 100k would mean
830 and 5,120 epochs. Arg `local`: `synthetic_nature`'s families (middle level) from r of
their 5 fine classes, 40 images each, leaving out the benchmark's species: the ratios would
otherwise include different numbers of them (1, 3 and 6 of 8 at r = 1, 2, 4, data_seed 0),
and a family holding two cannot keep both at r = 1. So every ratio draws from the families
with at least 4 species that are not the benchmark's (`max_ratio`), and covers none of its 8.
"""
import ml_collections
import numpy as np

from jaxrobust.study import recipes as sc

RATIOS = {'paper': (1, 2, 3), 'local': (1, 2, 4), 'test': (1, 2)}
# Paper scale: source -> (setting prefix, superclass level, superclasses, images per superclass).
PAPER_ARMS = {
    sc.IMAGENET: ('imagenet', 'longest_d7', None, 700),  # None: every eligible superclass
    sc.INATURALIST: ('inat', 'genus', 100, 50),
}
PAPER_EPOCHS = 90.0
WARMUP_EPOCHS = 5
# Local: superclass level and images per superclass (at most r_min x the images of a class).
LOCAL_LEVEL = {'local': 'level2', 'test': 'level1'}  # small: 20 x 5 subclasses; tiny: 2 x 3
LOCAL_IMAGES_PER_SUPERCLASS = {'local': 40, 'test': 8}


def imagenet_superclasses_with(level: str, min_subclasses: int) -> int:
  """How many ImageNet superclasses at `level` have >= min_subclasses classes (WordNet table)."""
  from jaxrobust.datasets import hierarchy  # pylint: disable=g-import-not-at-top
  h = hierarchy.load_hierarchy(sc.IMAGENET, None)  # the committed WordNet table
  return int((np.bincount(h.ancestors[level]) >= min_subclasses).sum())


def _paper_settings(c: ml_collections.ConfigDict) -> None:
  ratios = RATIOS['paper']
  c.pretrain_length = 'epochs'
  c.pretrain_epochs = PAPER_EPOCHS
  for source, (prefix, level, supers, per_superclass) in PAPER_ARMS.items():
    if supers is None:
      supers = imagenet_superclasses_with(level, max(ratios))
    warmup = WARMUP_EPOCHS * supers * per_superclass // c.pretrain.batch_size
    for r in ratios:
      c.pretrain_settings[f'{prefix}_r{r}'] = sc.pretrain_setting(
          sc.subset(source, num_classes=supers,
                    diversity=sc.diversity(level, subclasses_per_superclass=r,
                                           images_per_superclass=per_superclass,
                                           max_ratio=max(ratios))),
          optimizer={'warmup_steps': warmup})


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The diversity study; arg: see jaxrobust/study/recipes.py."""
  c = sc.study_defaults('diversity', arg, 'Subclasses per superclass at a fixed total.')
  # Findings on the subclasses per superclass at a fixed total are `equivalent` only within ±2 ER
  # points: the analysis default, which about 9 fine-tunes per setting reach at 1 point of run-to-
  # run spread (jaxrobust/analysis/verdicts.py). Size the fine-tune sweep on a pilot first:
  # `python -m jaxrobust.analysis power PILOT_DIR --equivalence_margin=2`.
  c.analysis.equivalence_margin = 2.0
  if c.scale == 'paper':
    _paper_settings(c)
    return c
  source, level = sc.sources_for(c.scale)['hierarchy'], LOCAL_LEVEL[c.scale]
  ratios = RATIOS[c.scale]
  # The test scale's one animal order is all benchmark species: it keeps the plain selection.
  drop = {'benchmark_classes': 'drop'} if c.scale == 'local' else {}
  for r in ratios:
    c.pretrain_settings[f'r{r}'] = sc.pretrain_setting(sc.subset(
        source, diversity=sc.diversity(level, subclasses_per_superclass=r,
                                       images_per_superclass=LOCAL_IMAGES_PER_SUPERCLASS[c.scale],
                                       max_ratio=max(ratios) if drop else None), **drop))
  return c
