"""Quickstart: a whole study offline on a CPU in minutes (the README's main command).

Pre-trains a tiny ResNet on the generated natural-like source (`synthetic_nature`, ImageNet's
role) at 100 and 6,000 images and as a placebo pair (the source's two disjoint halves: the same
size and distribution, no image shared); fine-tunes each on the generated
camera-trap benchmark (`synthetic_wildcam`) with several seeds, trains scratch baselines,
evaluates every model in- and out-of-distribution, fits effective robustness and writes the
report. The study is a control of the whole tool, and says so in its last lines:
- positive: the generated benchmark's shift has a known cause that pre-training resists (see
  jaxrobust/datasets/builders/synthetic_wildcam.py), so the largest minus the smallest quantity
  must come out `different`;
- negative: the placebo pair differs only in which images it drew, so it must come out
  `equivalent` within the study's margin.
`--config.data_seed=N` draws another world. Arg `test`: the smallest version of the same (used
by the test suite); `epochs`: pre-train for a fixed number of epochs instead of steps.
"""
import ml_collections

from jaxrobust.study import recipes as sc

# 100 to 6,000 images (1 to 60 per class): ER rises from the scratch trend at 100 images to
# above it at 6,000. The placebo pair is the source's two disjoint halves, 3,000 images (30 per
# class) each: the largest disjoint pair the source holds.
_QUANTITIES = {'local': (100, 6_000), 'test': (12, 48)}
_PLACEBO_SIZE = {'local': 3_000, 'test': 24}
# Fine-tuning seeds per pre-training setting: one run's ER spreads by 2.2-3.0 points between
# seeds depending on the world (data_seed 0-3; jaxrobust/study/local_spread.json), so the
# planner (`python -m jaxrobust.analysis power WORKDIR --equivalence_margin=4.5`) asks for 6-9
# runs per group to show two groups without a difference equivalent within the margin, 80% of
# the time. Each setting is pre-trained once, so the intervals are about these pre-trained
# models: two pre-training runs of one setting can differ by several points (the placebo pair
# can come out `inconclusive` or `different` in some worlds), and `--config.pretrain_seeds=R`
# puts that chance into the intervals by pre-training and fine-tuning every setting R times.
_FINETUNE_SEEDS = 10
# The recipe's ten scratch baselines pin the trend down in these worlds (its slope's interval
# excludes 0 on data_seed 0-3).
# ER points: half the smallest quantity effect measured (6,000 minus 100 images: +16.6, +13.4,
# +13.9 and +9.5 points on data_seed 0-3), so `equivalent` on the placebo pair rules out a
# difference half the size of the effect the positive control resolves.
_MARGIN = 4.5


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The quickstart study; arg: nothing (local scale) or 'test'."""
  c = sc.study_defaults('quickstart', f'local,{arg or ""}',  # always local
                        'Offline quickstart: quantity with a placebo pair, natural-like source '
                        '-> synthetic camera traps.')
  source = sc.sources_for(c.scale)['hierarchy']
  smallest, largest = _QUANTITIES[c.scale]
  placebo = _PLACEBO_SIZE[c.scale]
  settings = c.pretrain_settings
  settings[f'n{smallest}'] = sc.pretrain_setting(sc.subset(source, num_examples=smallest))
  for half, part in (('a', 0), ('b', 1)):
    settings[f'n{placebo}_placebo_{half}'] = sc.pretrain_setting(
        sc.subset(source, num_examples=placebo, part=(part, 2)))
  settings[f'n{largest}'] = sc.pretrain_setting(sc.subset(source, num_examples=largest))
  if c.scale == 'local':
    for seed in range(_FINETUNE_SEEDS):  # the recipe's names: its seeds keep their run ids
      c.finetune_settings[f'lr1e3_s{seed}'] = {'seed': seed}
  c.analysis.equivalence_margin = _MARGIN
  c.controls.positive = {'pair': (f'n{largest}', f'n{smallest}'), 'expect': 'different',
                         'about': f'{largest:,} minus {smallest:,} images'}
  c.controls.negative = {'pair': (f'n{placebo}_placebo_a', f'n{placebo}_placebo_b'),
                         'expect': 'equivalent', 'about': 'placebo pair'}
  return c
