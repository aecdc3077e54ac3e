"""python -m jaxrobust.analysis <workdirs or results.csv>... [--out=DIR]: the ER report
(default for one workdir DIR: DIR/reports/<its settings>).

Writes the report folder and prints its group table and findings.

python -m jaxrobust.analysis power <workdirs or results.csv>... [--equivalence_margin=M]
[--json]: the models per group that resolve a difference of M ER points, and that show
equivalence within M, from the results' spread between runs and trend (power.py).
"""
from collections.abc import Sequence
import dataclasses
import json
import sys

from absl import app
from absl import flags
from absl import logging

from jaxrobust import errors
from jaxrobust.analysis import bootstrap
from jaxrobust.analysis import load
from jaxrobust.analysis import pipeline
from jaxrobust.analysis import power
from jaxrobust.analysis import report
from jaxrobust.analysis import summary
from jaxrobust.analysis import transforms
from jaxrobust.analysis import verdicts

_OUT = flags.DEFINE_string(
    'out', None, 'Report folder (local or gs://); default for a single workdir DIR: '
    'DIR/reports/<settings> (DIR/report is the study\'s own report, never overwritten).')
_METRIC = flags.DEFINE_enum('metric', 'macro_f1', ['macro_f1', 'accuracy'], 'Score to analyse.')
_TRANSFORM = flags.DEFINE_enum('transform', 'logit', sorted(transforms.TRANSFORMS),
                               'Axis transform of the trend fit.')
_GROUP_BY = flags.DEFINE_list(
    'group_by', None, 'Columns defining a pre-training setting, e.g. pretrain.num_examples '
    '(default: every pretrain.* column that varies, seed excluded; empty: no grouping).')
_BASELINE = flags.DEFINE_string(
    'baseline', None, 'pandas query selecting the baseline rows, dotted columns in backticks '
    '(default: kind == "scratch").')
_NUM_RESAMPLES = flags.DEFINE_integer('num_resamples', bootstrap.NUM_RESAMPLES,
                                      'Bootstrap resamples.')
_LEVEL = flags.DEFINE_float('level', 0.95, 'Interval level.')
_SEED = flags.DEFINE_integer('seed', 0, 'Bootstrap seed.')
_SELECTION = flags.DEFINE_enum(
    'selection', None, list(load.SELECTION_RULES),
    'Model selection rule whose models to analyse: ood_val (best val macro-F1, WILDS), id_val '
    '(best id_val macro-F1) or last (end of training); default: the one each result.json reports '
    '(the study\'s config.selection).')
_MARGIN = flags.DEFINE_float(
    'equivalence_margin', verdicts.DEFAULT_MARGIN,
    'ER points within which two groups (or a group and the trend) count as equivalent: '
    'their 90% interval inside -+margin (the default and its reason: '
    'jaxrobust/analysis/README.md).')
_JSON = flags.DEFINE_bool('json', False, 'power: end with the plan as one JSON line.')


def _options() -> dict:
  return dict(metric=_METRIC.value, transform=_TRANSFORM.value, baseline=_BASELINE.value,
              group_by=_GROUP_BY.value, num_resamples=_NUM_RESAMPLES.value, level=_LEVEL.value,
              seed=_SEED.value, equivalence_margin=_MARGIN.value)


def _power(inputs: Sequence[str]) -> None:
  """Prints the power plan of the results in `inputs` (and its JSON with --json)."""
  df = load.load_results(list(inputs))
  if _SELECTION.value is not None:
    df = load.apply_selection(df, _SELECTION.value)
  analysis = pipeline.analyze(df, **_options())
  measured = power.measured_spread(analysis)
  plan = power.plan_from_spread(measured, _MARGIN.value, analysis.level)
  print('\n'.join(power.describe(plan, measured.spread_sd, measured.dof)))
  if _JSON.value:
    print(json.dumps({**dataclasses.asdict(plan), 'measured': dataclasses.asdict(measured)}))


def main(argv: Sequence[str]) -> None:
  inputs = argv[1:]
  planning = bool(inputs) and inputs[0] == 'power'
  inputs = inputs[1:] if planning else inputs
  if not inputs:
    raise app.UsageError('Pass one or more study workdirs or results.csv files.')
  try:
    if planning:
      _power(inputs)
      return
    out = report.report_dir(inputs, _OUT.value,
                            report.report_settings(_SELECTION.value, **_options()))
    analysis = report.write_report(inputs, out, selection=_SELECTION.value, **_options())
  except errors.UserError as e:
    logging.flush()
    sys.exit(f'error: {e}')
  print(summary.console_group_table(analysis), '', 'Findings:', sep='\n')
  print('\n'.join(f'- {line}' for line in summary.findings(analysis)), '', sep='\n')
  print(f'report: {load.open_path(out) / "report.md"}')


if __name__ == '__main__':
  app.run(main)
