"""Data source: ImageNet, iNaturalist, FractalDB, Stable Diffusion images and their mixtures.

Paper scale: 150K images from ImageNet-1k, iNaturalist 2017 (`--config.releases.inaturalist=
2021_mini` for 2021's train_mini), FractalDB-1k and Stable Diffusion v1.5 images of ImageNet's
classes (`diffusion_imagenet/sd15`, generated on GPUs first: `--dry_run` prints the command);
a quantity sweep on the diffusion images and the same sweep on ImageNet (5K/25K/50K/100K, nested,
plus the 150K single sources), so diffusion and natural images are compared at equal quantity in
one study; mixtures with ImageNet at 25/50/75 % of the other source (0 % and 100 % are the single
sources; label spaces kept disjoint). The 50 % ImageNet+iNaturalist and ImageNet+FractalDB
settings keep their names (`imagenet_inat`, `imagenet_fractaldb`). Pre-training length: 100k
steps of 256 for every setting: 171 epochs of the 150K sets, 5,120 of the 5K sets (`:epochs`:
90 epochs each instead).
Arg `local`: the natural-like `synthetic_nature`, fractals (`fractaldb/small`), images of a
random tiny diffusion pipeline (`diffusion_imagenet/local`: plumbing, not a positive control)
and the 50/50 nature+fractals mixture.
"""
import ml_collections

from jaxrobust.study import recipes as sc

_SIZE = {'paper': 150_000, 'local': 3_000, 'test': 32}
_DIFFUSION_QUANTITIES = (5_000, 25_000, 50_000, 100_000)  # + the 150K single sources
_SHARES = (25, 50, 75)  # % of the second source in a mixture with ImageNet


def _paper_settings(s: dict[str, str]) -> tuple[dict, dict]:
  singles = {'imagenet': s['hierarchy'], 'inat': s['taxonomy'], 'fractaldb': s['fractaldb'],
             'diffusion': s['diffusion']}
  mixtures = {}
  for other in ('inat', 'fractaldb', 'diffusion'):
    for share in _SHARES:
      name = f'imagenet_{other}' if share == 50 and other != 'diffusion' else (
          f'imagenet_{other}{share}')
      mixtures[name] = ((s['hierarchy'], 1 - share / 100), (singles[other], share / 100))
  return singles, mixtures


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The sources study; arg: see jaxrobust/study/recipes.py."""
  c = sc.study_defaults('sources', arg, 'Pre-training data source and mixtures.')
  # Findings on the source of the images at a fixed quantity are `equivalent` only within ±2 ER
  # points: the analysis default, which about 9 fine-tunes per setting reach at 1 point of run-to-
  # run spread (jaxrobust/analysis/verdicts.py). Size the fine-tune sweep on a pilot first:
  # `python -m jaxrobust.analysis power PILOT_DIR --equivalence_margin=2`.
  c.analysis.equivalence_margin = 2.0
  n = _SIZE[c.scale]
  s = sc.sources_for(c.scale)
  if c.scale == 'paper':
    singles, mixtures = _paper_settings(s)
  else:  # (the test scale leaves out the natural-only setting the others train)
    singles = {'nature': s['hierarchy'], 'fractaldb': s['fractaldb']}
    if c.scale == 'test':
      del singles['nature']
    else:
      singles['diffusion'] = s['diffusion']
    mixtures = {'nature_fractaldb': ((s['hierarchy'], 0.5), (s['fractaldb'], 0.5))}
  for name, source in singles.items():
    c.pretrain_settings[name] = sc.pretrain_setting(sc.subset(source, num_examples=n))
  for name, parts in mixtures.items():
    c.pretrain_settings[name] = sc.pretrain_setting(sc.subset(*parts, num_examples=n))
  if c.scale == 'paper':
    for source in ('diffusion', 'imagenet'):
      for quantity in _DIFFUSION_QUANTITIES:
        c.pretrain_settings[f'{source}_n{quantity // 1000}k'] = sc.pretrain_setting(
            sc.subset(singles[source], num_examples=quantity))
  return c
