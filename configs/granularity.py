"""Label granularity: the same images, trained on labels cut at coarser or finer levels.

Paper scale: all of ImageNet-1k with WordNet superclass labels from one tree (one parent per
synset, jaxrobust/datasets/wordnet/README.md) cut at depths 2, 4, 5, 6, 7: 5/14/32/76/193 classes
against the study's 5/17/37/85/232, nested (each level refines the next), plus the 1000 classes;
and iNaturalist 2017 trained on each taxonomy rank, kingdom to species, on its species whose
ranks are all known (group `resolved`: kingdom..family come from a 2021 taxonomy file, see
jaxrobust/datasets/builders/inaturalist.py; `--config.releases.inaturalist=2021_mini` trains on
2021's train_mini instead, every species resolved).
The nested tree is the default because it is the cleaner experiment: every coarse class is a
union of finer ones, so only the label granularity changes between levels.
At tree depths 2-6 all 398 animal classes (the fine-tune target is animals) share one class:
granularity is confounded with semantics there. Arg `balanced`: the same tree cut by splitting
its largest class (`balanced_5/17/37/85/232`: 4/16/36/91/231 classes) instead, which spreads the
animal classes from 36 classes on. Arg `dag`: the WordNet DAG cut at longest-path depths
2/4/5/6/7 (`longest_d2..d7`: 6/17/37/81/201 classes), the rule that gives the paper's 17 and 37
exactly (not its 5/85/232); those levels are not nested (a class's longest paths may pass
through several coarser classes), and the animal classes share one class up to depth 6 (5
classes at depth 7). Pre-training length: 100k steps of 256 at every level = 20
epochs of the 1.28M ImageNet images; on iNaturalist 2017 44 epochs if all 579K images are of
resolved species, more the fewer are (the dry run prints it once the subset is materialized).
Granularity variants of one image set share one materialized subset.
Arg `local`: every level of `synthetic_nature` (5 orders, 20 families, 100 species).
"""
import ml_collections

from jaxrobust.study import recipes as sc

IMAGENET_LEVELS = {
    'tree': ('tree_d2', 'tree_d4', 'tree_d5', 'tree_d6', 'tree_d7', 'label'),
    'balanced': ('balanced_5', 'balanced_17', 'balanced_37', 'balanced_85', 'balanced_232',
                 'label'),
    'dag': ('longest_d2', 'longest_d4', 'longest_d5', 'longest_d6', 'longest_d7', 'label'),
}
INATURALIST_RANKS = ('kingdom', 'phylum', 'class', 'order', 'family', 'genus', 'label')


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The granularity study; arg: see jaxrobust/study/recipes.py."""
  words = (arg or '').split(',')
  cuts = [w for w in words if w in IMAGENET_LEVELS]
  if len(cuts) > 1:
    raise ValueError(f"Config args {' and '.join(cuts)} pick different ImageNet levels: "
                     'give one.')
  c = sc.study_defaults('granularity',
                        ','.join(w for w in words if w not in IMAGENET_LEVELS) or None,
                        'Label granularity at fixed images.')
  # Findings on the label level of the same images beyond the quantity effect are `equivalent`
  # only within ±2 ER points: the analysis default, which about 9 fine-tunes per setting reach at
  # 1 point of run-to-run spread (jaxrobust/analysis/verdicts.py). Size the fine-tune sweep on a
  # pilot first: `python -m jaxrobust.analysis power PILOT_DIR --equivalence_margin=2`.
  c.analysis.equivalence_margin = 2.0
  if cuts and c.scale != 'paper':
    raise ValueError(f"Config arg '{cuts[0]}' picks ImageNet levels: paper scale only.")
  if c.scale == 'paper':
    for level in IMAGENET_LEVELS[cuts[0] if cuts else 'tree']:
      c.pretrain_settings[f'imagenet_{level}'] = sc.pretrain_setting(
          sc.subset(sc.IMAGENET, label_level=level))
    for rank in INATURALIST_RANKS:
      c.pretrain_settings[f'inat_{rank}'] = sc.pretrain_setting(
          sc.subset(sc.INATURALIST, label_level=rank, class_filter='resolved'))
    return c
  source = sc.sources_for(c.scale)['hierarchy']
  n = {'local': 2_000, 'test': 32}[c.scale]
  for level in sc.LOCAL_LEVELS[c.scale]:
    c.pretrain_settings[f'nature_{level}'] = sc.pretrain_setting(
        sc.subset(source, num_examples=n, label_level=level))
  return c
