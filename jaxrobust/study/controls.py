"""A study's controls: pairs of pre-training settings with a verdict known in advance.

`config.controls.<name> = {'pair': (setting_a, setting_b), 'expect': verdict, 'about': text}`
declares that the report's verdict on setting_a's group minus setting_b's must be `expect`
(different | equivalent | inconclusive, jaxrobust/analysis/verdicts.py); e.g. a placebo pair
(two disjoint draws of one distribution) must come out `equivalent`, a known large effect
`different`. The study ends with one line per control, PASS or FAIL: a FAIL says the study
cannot tell what it was built to tell (too few runs, or a margin too tight for their spread).
"""
from collections.abc import Sequence
import json
import os

import ml_collections
import pandas as pd

from jaxrobust import errors
from jaxrobust.analysis import summary
from jaxrobust.analysis import verdicts
from jaxrobust.study.plan import PlannedRun


def check(config: ml_collections.ConfigDict) -> None:
  """Refuses a control naming an unknown pre-training setting or verdict."""
  settings = set(config.pretrain_settings)
  for name, control in config.get('controls', {}).items():
    where = f'config.controls.{name}'
    if set(control) != {'pair', 'expect', 'about'}:
      raise errors.ConfigError(f'{where}: give exactly pair=(setting_a, setting_b), expect (a '
                               f'verdict) and about (the pair in words); got {sorted(control)}.')
    unknown = [s for s in control.pair if s not in settings]
    if len(control.pair) != 2 or unknown:
      raise errors.ConfigError(f'{where}.pair={tuple(control.pair)}: give two of the '
                               f'pre-training settings {sorted(settings)}.')
    if control.expect not in verdicts.VERDICTS:
      raise errors.ConfigError(f'{where}.expect={control.expect!r}: use one of '
                               f'{", ".join(verdicts.VERDICTS)}.')


def _group_of(setting: str, plan: Sequence[PlannedRun], er_table: pd.DataFrame) -> str | None:
  """The report group of `setting`'s fine-tunes (None unless they all fall in one group)."""
  run_ids = {r.run_id for r in plan if r.kind == 'finetune' and r.pretrain_setting == setting}
  found = set(er_table.loc[er_table['run_id'].isin(run_ids), 'group'])
  return found.pop() if len(found) == 1 else None


def control_lines(config: ml_collections.ConfigDict, report_dir: str,
                  plan: Sequence[PlannedRun], level: float) -> list[str]:
  """One line per control: the verdict on its pair in words, then PASS or FAIL.

  `level`: the interval level the report was made at.
  """
  controls = config.get('controls', {})
  if not controls:
    return []
  er_table = pd.read_csv(os.path.join(report_dir, 'er_table.csv'))
  differences = pd.read_csv(os.path.join(report_dir, 'group_differences.csv'))
  lines = []
  for name in json.loads(controls.to_json_best_effort()):  # the config file's order
    control = controls[name]
    groups = [_group_of(s, plan, er_table) for s in control.pair]
    row = (summary.oriented(differences, *groups, 'er_difference')
           if None not in groups else None)
    head = f'{name} control ({control.about}): '
    if row is None:
      lines.append(f'{head}no verdict: settings {" and ".join(control.pair)} do not form two '
                   f'groups of the report ... FAIL')
      continue
    verdict = summary.verdict_text(row.verdict, row.low, row.high, row.equivalence_low,
                                   row.equivalence_high, row.margin, level)
    difference = summary.with_interval(row.er_difference, row.low, row.high, signed=True)
    outcome = 'PASS' if row.verdict == control.expect else f'FAIL (expected {control.expect})'
    lines.append(f'{head}{verdict}; {groups[0]} minus {groups[1]}: {difference} ER points '
                 f'... {outcome}')
  return lines
