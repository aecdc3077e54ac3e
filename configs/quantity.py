"""Pre-training quantity: how many images, and classes x images-per-class at a fixed total.

Paper scale: class-balanced ImageNet-1k subsets of 5K, 25K, 50K, 100K and 150K images (nested:
each is a subset of the next) and the full 1.28M, plus 250 classes x 600 images against the
150K setting (= 1000 classes x 150). Every setting trains the same number of steps (see
docs/studies.md; `:epochs` trains a fixed number of epochs instead), then is fine-tuned on
iWildCam-WILDS. Pre-training length: 100k steps of 256 = 5,120 epochs of the 5K subset, 171 of
150K, 20 of the full 1.28M (`:epochs`: 90 epochs each).
Arg `local`: the same on `synthetic_nature` + `synthetic_wildcam`. The benchmark's species are
species of that source, so every local setting includes all of them: the 25 classes of
`k25_m60` are its 8 species and 17 others (the dry run prints each setting's coverage).
"""
import ml_collections

from jaxrobust.study import recipes as sc

# (quantities, (classes, images per class) at the total of one of the quantities) per scale.
_SIZES = {
    'paper': ((5_000, 25_000, 50_000, 100_000, 150_000), (250, 600)),
    'local': ((500, 1_500, 3_000), (25, 60)),  # 25 x 60 vs n1500 = 100 classes x 15
    'test': ((16, 32), None),
}


def _short(n: int) -> str:
  return f'{n // 1000}k' if n % 1000 == 0 else str(n)


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The quantity study; arg: see jaxrobust/study/recipes.py."""
  c = sc.study_defaults('quantity', arg, 'Pre-training quantity at equal steps.')
  source = sc.sources_for(c.scale)['hierarchy']
  quantities, classes_x_images = _SIZES[c.scale]
  for n in quantities:
    c.pretrain_settings[f'n{_short(n)}'] = sc.pretrain_setting(
        sc.subset(source, num_examples=n))
  if c.scale != 'test':
    c.pretrain_settings.full = sc.pretrain_setting(sc.subset(source))
  if classes_x_images:
    k, m = classes_x_images
    keep = {} if c.scale == 'paper' else {'benchmark_classes': 'keep'}
    c.pretrain_settings[f'k{k}_m{m}'] = sc.pretrain_setting(
        sc.subset(source, num_classes=k, images_per_class=m, **keep))
  return c
