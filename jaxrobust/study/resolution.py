"""What a study's planned group sizes can tell apart: the dry run's power line.

From the spread of one run's ER between runs of one setting (and its test-set sd), measured on a
pilot (`config.analysis.pilot`: the workdir of an earlier run of a study like this one) or, at
the local and test scales, on the quickstart's runs (local_spread.json, beside this file, with
the command that measured it), `jaxrobust.analysis.power` gives the difference between two
groups that their planned size resolves and the margin within which it shows two groups without
a difference equivalent, each 80% of the time.
"""
from collections.abc import Sequence
import collections
import json
import os

import ml_collections

from jaxrobust import analysis
from jaxrobust.analysis import power
from jaxrobust.study.plan import PlannedRun

LOCAL_FIGURES = os.path.join(os.path.dirname(__file__), 'local_spread.json')


def _figures(config: ml_collections.ConfigDict) -> tuple[float, float, str] | None:
  """(spread sd, test sd, where from) in ER points; None without a pilot at paper scale."""
  pilot = config.analysis.get('pilot')
  if pilot:
    results = analysis.load_results([pilot])
    measured = analysis.analyze(results, metric=config.analysis.metric,
                                transform=config.analysis.transform)
    spread, _, test_sd, _ = power.measured_spread(measured)
    return spread, test_sd, f'pilot {pilot}'
  if config.scale == 'paper':
    return None
  with open(LOCAL_FIGURES) as f:
    shipped = json.load(f)
  return shipped['spread_sd'], shipped['test_sd'], 'the shipped local figures'


def resolution_line(config: ml_collections.ConfigDict, plan: Sequence[PlannedRun]) -> str | None:
  """The sentence for the dry run; None for a study without pre-trained groups."""
  sizes = collections.Counter(r.pretrain_setting for r in plan if r.kind == 'finetune')
  if not sizes:
    return None
  n = min(sizes.values())
  figures = _figures(config)
  if figures is None:
    return (f'With {n} models per group: set --config.analysis.pilot=DIR (the workdir of an '
            f'earlier run) to see which differences that resolves.')
  spread, test_sd, source = figures
  difference, margin = power.detectable(n, spread, test_sd)
  return (f'With {n} models per group, this study resolves differences of about '
          f'{difference:.1f} ER points and shows equivalence within ±{margin:.1f} '
          f'({power.POWER:.0%} of the time; its margin is ±{config.analysis.equivalence_margin:g}; '
          f'from {source}: one run\'s ER spreads by {spread:.1f} points, test-set sd '
          f'{test_sd:.1f}).')
