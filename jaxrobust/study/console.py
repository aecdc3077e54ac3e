"""Plain-text tables the study runner prints: the plan (--dry_run) and the final ER summary."""
from collections.abc import Sequence
from typing import Any

from jaxrobust.analysis.groups import MIN_GROUP_MODELS
from jaxrobust.datasets import hierarchy
from jaxrobust.study.datasets import DatasetStatus
from jaxrobust.study.plan import PlannedRun, group_sizes


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
  """Left-aligned columns separated by two spaces, a dashed rule under the header."""
  cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
  widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
  lines = ['  '.join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
  lines.insert(1, '  '.join('-' * w for w in widths))
  return '\n'.join(lines)


def plan_table(runs: Sequence[PlannedRun], states: dict[str, str]) -> str:
  """One row per run: id, kind, dataset, length (steps and epochs), the fine-tune benchmark's
  classes a pre-training run's images include, state."""
  return format_table(
      ['run id', 'kind', 'dataset', 'length', 'benchmark classes', 'state'],
      [[r.run_id, r.kind, r.dataset, r.length, r.coverage, states[r.run_id]] for r in runs])


def failures_table(failures: dict[str, str]) -> str:
  """The runs that failed and why, one row each."""
  return format_table(['failed run', 'error'], list(failures.items()))


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
  evaluated = next((r.config.data for r in runs if r.kind != 'pretrain'), None)
  validation = ('/'.join(evaluated.selection_splits) or 'every split') if evaluated else 'val'
  test = f'{evaluated.id_split}/{evaluated.ood_split}' if evaluated else 'ID/OOD'
  return (f'prepare {num_datasets} datasets -> pre-train {count["pretrain"]} -> '
          f'fine-tune {count["finetune"]} -> scratch {count["scratch"]} -> model selection '
          f'({validation} every epoch; {test} at new bests and the last epoch) -> results.csv '
          '-> report/')


def groups_line(runs: Sequence[PlannedRun]) -> str:
  """Models per pre-training setting and baseline models: the sizes of the analysis' groups."""
  sizes = group_sizes(runs)
  small = sorted(k for k, n in sizes.items() if n < MIN_GROUP_MODELS)
  line = f'Total: {len(runs)} runs; models per group: ' + ', '.join(
      f'{k} {n}' for k, n in sizes.items())
  if small:
    line += (f'. WARNING: {", ".join(small)} have fewer than {MIN_GROUP_MODELS} models, too few '
             f'to resolve the spread between runs; add fine-tune seeds (config.finetune_settings).')
  return line


def label_levels(runs: Sequence[PlannedRun]) -> str:
  """Class sizes and where the animal classes fall at each label level the pre-training uses.

  Only sources whose hierarchy ships with the package (ImageNet's WordNet table); for the
  others `python -m jaxrobust.datasets describe NAME` shows it once the dataset is built.
  """
  used = {}
  for r in runs:
    if r.kind == 'pretrain' and r.subset and r.subset.get('label_level'):
      for source in r.subset['sources']:
        if hierarchy.has_committed_table(source['name']):
          used.setdefault(source['name'], []).append(r.subset['label_level'])
  parts = []
  for source, levels in used.items():
    tree = hierarchy.load_hierarchy(source)
    levels = [lv for lv in tree.levels if lv in levels]
    parts.append(f'Label levels of {source}:\n{hierarchy.describe_levels(tree, levels)}')
  return '\n\n'.join(parts)
