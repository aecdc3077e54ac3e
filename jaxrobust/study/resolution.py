"""What a study's planned group sizes can tell apart: the dry run's power line.

From the spread of one run's ER between runs of one setting (or of one pre-trained model's mean
ER, with `pretrain_seeds` > 1) and its test-set sd, measured on a pilot (`config.analysis.pilot`:
the workdir of an earlier run of a study like this one) or, at the local and test scales, on the
quickstart's runs (local_spread.json, beside this file, with the command that measured it),
`jaxrobust.analysis.power` gives the difference between two groups that their planned size
resolves and the margin within which it shows two groups without a difference equivalent, each
80% of the time.
"""
from collections.abc import Sequence
import collections
import json
import math
import os

import ml_collections

from jaxrobust import analysis
from jaxrobust.analysis import power
from jaxrobust.study.plan import PlannedRun

LOCAL_FIGURES = os.path.join(os.path.dirname(__file__), 'local_spread.json')


def _figures(config: ml_collections.ConfigDict,
             fine_tunes: int | None) -> tuple[float, float, int, str] | None:
  """(spread sd, test sd, fine-tunes per unit, where from) in ER points; None without a pilot
  at paper scale. The unit is a fine-tuned model (1) or a pre-trained model with that many
  fine-tunes: the pilot's own, or for the shipped figures the study's (`fine_tunes`; None where
  a group rests on one pre-training run)."""
  pilot = config.analysis.get('pilot')
  if pilot:
    results = analysis.load_results([pilot])
    measured = power.measured_spread(analysis.analyze(
        results, metric=config.analysis.metric, transform=config.analysis.transform))
    return (measured.spread_sd, measured.test_sd, measured.fine_tunes_per_model,
            f'pilot {pilot}')
  if config.scale == 'paper':
    return None
  with open(LOCAL_FIGURES) as f:
    shipped = json.load(f)
  if fine_tunes is None:
    return shipped['fine_tune_sd'], shipped['test_sd'], 1, 'the shipped local figures'
  spread = math.sqrt(shipped['pretraining_sd'] ** 2 + shipped['fine_tune_sd'] ** 2 / fine_tunes)
  return (spread, shipped['test_sd'] / math.sqrt(fine_tunes), fine_tunes,
          'the shipped local figures')


def resolution_line(config: ml_collections.ConfigDict, plan: Sequence[PlannedRun]) -> str | None:
  """The sentence for the dry run; None for a study without pre-trained groups. Where groups
  differ in size (a setting's own `pretrain_seeds`), it gives each size with its settings."""
  sizes = collections.Counter(r.pretrain_setting for r in plan if r.kind == 'finetune')
  if not sizes:
    return None
  models = collections.Counter(r.pretrain_setting for r in plan if r.kind == 'pretrain')
  runs = min(sizes.values())
  pretrained = min(models[s] for s in sizes)
  figures = _figures(config, max(runs // pretrained, 1) if pretrained > 1 else None)
  if figures is None:
    return (f'With {runs} models per group: set --config.analysis.pilot=DIR (the workdir of an '
            f'earlier run) to see which differences that resolves.')
  spread, test_sd, each, source = figures
  count, unit, one = (sizes, 'models', 'one run\'s ER') if each == 1 else (
      models, f'pre-trained models (each fine-tuned {each} times)',
      'one pre-trained model\'s mean ER')
  settings_of = collections.defaultdict(list)
  for setting in sizes:
    settings_of[count[setting]].append(setting)
  parts = []
  for n, settings in sorted(settings_of.items()):
    where = f' in {", ".join(settings)}' if len(settings_of) > 1 else ' per group'
    parts.append((n, where, *power.detectable(n, spread, test_sd)))
  (n, where, difference, margin), *others = parts
  text = (f'With {n} {unit}{where}, this study resolves differences of about {difference:.1f} '
          f'ER points and shows equivalence within ±{margin:.1f}')
  text += ''.join(f'; with {n}{where}: {difference:.1f} and ±{margin:.1f}'
                  for n, where, difference, margin in others)
  return (f'{text} ({power.POWER:.0%} of the time; its margin is '
          f'±{config.analysis.equivalence_margin:g}; from {source}: {one} spreads by '
          f'{spread:.1f} points, test-set sd {test_sd:.1f}).')
