"""Plain-text tables the study runner prints: the plan (--dry_run) and the final ER summary."""
from collections.abc import Sequence
from typing import Any

from jaxrobust.study.datasets import DatasetStatus
from jaxrobust.study.plan import PlannedRun


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
  """Left-aligned columns separated by two spaces, a dashed rule under the header."""
  cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
  widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
  lines = ['  '.join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
  lines.insert(1, '  '.join('-' * w for w in widths))
  return '\n'.join(lines)


def plan_table(runs: Sequence[PlannedRun], states: dict[str, str]) -> str:
  """One row per run: id, kind, dataset, length, state."""
  return format_table(
      ['run id', 'kind', 'dataset', 'steps', 'state'],
      [[r.run_id, r.kind, r.dataset, r.length, states[r.run_id]] for r in runs])


def datasets_table(statuses: Sequence[DatasetStatus]) -> str:
  """One row per dataset the selected runs read, and what preparing it will do."""
  words = {'ready': 'ready', 'generate': 'will be generated',
           'materialize': 'will be materialized', 'missing': 'MISSING manual data'}
  return format_table(['dataset', 'state', 'detail'],
                      [[s.name, words[s.state], 'see below' if s.state == 'missing' else s.detail]
                       for s in statuses])


def stages_line(runs: Sequence[PlannedRun], num_datasets: int) -> str:
  """The study's stages in order with their sizes."""
  count = {k: sum(r.kind == k for r in runs) for k in ('pretrain', 'finetune', 'scratch')}
  return (f'prepare {num_datasets} datasets -> pre-train {count["pretrain"]} -> '
          f'fine-tune {count["finetune"]} -> scratch {count["scratch"]} -> evaluate ID/OOD '
          '(end of each fine-tune and scratch run) -> results.csv -> report/')
