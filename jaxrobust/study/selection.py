"""Model selection as in WILDS: which evaluation of a fine-tune (or scratch) run is reported.

Rules (a study's `config.selection`; result.json keeps the choice of every rule):
  ood_val  the evaluation with the best macro-F1 on the OOD validation split (the benchmark's
           `ood_val_split`; iWildCam: `val`, unseen locations), WILDS' iWildCam recipe
           (`val_metric: F1-macro_all` on split `val`); the default
  id_val   the best macro-F1 on the ID validation split (`id_val_split`; iWildCam: `id_val`)
  last     the model at the end of training
Candidates are the evaluations every `eval_every_epochs` and the one at the end. Ties go to the
earliest (WILDS replaces its best model only on a strictly higher score).

The engine scores only `config.data.selection_splits` (the two validation splits) during training
and the test splits only when one of them reaches a new best, so every rule's choice has test
predictions. The scores of each evaluation are kept in `<run_dir>/selection/evaluations.json`
(the selection curve; it survives a resume: an evaluation at step s replaces any recorded at s
or later).
"""
from collections.abc import Mapping, Sequence
import json
from typing import Any

from etils import epath
import ml_collections

from jaxrobust.errors import ConfigError

# rule -> the run field (jaxrobust.study.benchmark.ROLES) naming the split it maximizes
RULES = {'ood_val': 'ood_val_split', 'id_val': 'id_val_split', 'last': None}
DEFAULT_RULE = 'ood_val'
METRIC = 'macro_f1'
SELECTION_DIR = 'selection'
HISTORY_FILE = 'evaluations.json'


def check_rule(rule: str, field: str = 'config.selection') -> str:
  """`rule` if it is one of RULES, else a ConfigError naming `field`."""
  if rule not in RULES:
    raise ConfigError(f'{field}={rule!r}; use one of {list(RULES)} (ood_val: best val '
                      f'macro-F1 as in WILDS, id_val: best id_val macro-F1, last: end of training).')
  return rule


def rule_split(rule: str, config: ml_collections.ConfigDict) -> str | None:
  """The split `rule` maximizes in run `config` (None for `last`)."""
  role = RULES[check_rule(rule)]
  return config.data[role] if role else None


def select(evaluations: Sequence[Mapping[str, Any]], split: str | None) -> int:
  """Index of the evaluation with the best macro-F1 on `split` (None: the last one).

  `evaluations` are in step order, the last at the end; each is
  {'step', 'scores': {split: {'macro_f1', ...}}}.
  """
  if split is None:
    return len(evaluations) - 1
  best = None
  for i, evaluation in enumerate(evaluations):
    score = evaluation['scores'][split][METRIC]
    if best is None or score > evaluations[best]['scores'][split][METRIC]:
      best = i
  return best


def candidate_dir(run_dir: epath.Path, step: int) -> epath.Path:
  """Where the predictions of a selection candidate evaluated after `step` wait."""
  return run_dir / SELECTION_DIR / f'step_{step}'


def record(run_dir: epath.Path, evaluation: Mapping[str, Any]) -> list[dict[str, Any]]:
  """Appends `evaluation` ({'step', 'epoch', 'scores'}) to the run's history; returns it all.

  Entries at its step or later (from before a resume) are dropped first.
  """
  path = run_dir / SELECTION_DIR / HISTORY_FILE
  history = json.loads(path.read_text()) if path.exists() else []
  history = [e for e in history if e['step'] < evaluation['step']] + [dict(evaluation)]
  path.parent.mkdir(parents=True, exist_ok=True)
  tmp = path.parent / f'{path.name}.tmp'
  tmp.write_text(json.dumps(history, indent=1) + '\n')
  tmp.replace(path)
  return history
