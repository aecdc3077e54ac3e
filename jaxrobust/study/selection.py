"""Model selection as in WILDS: which evaluation of a fine-tune (or scratch) run is reported.

Rules (a study's `config.selection`; result.json keeps the choice of every rule):
  ood_val  the evaluation with the best macro-F1 on `val` (OOD validation: unseen locations),
           WILDS' iWildCam recipe (`val_metric: F1-macro_all` on split `val`); the default
  id_val   the best macro-F1 on `id_val` (ID validation: seen locations)
  last     the model at the end of training
Candidates are the evaluations every `eval_every_epochs` and the one at the end. Ties go to the
earliest (WILDS replaces its best model only on a strictly higher score).

The engine scores only `config.data.selection_splits` (id_val, val) during training and the test splits only when one of
them reaches a new best, so every rule's choice has test predictions. The scores of each
evaluation are kept in `<run_dir>/selection/evaluations.json` (the selection curve; it survives a
resume: an evaluation at step s replaces any recorded at s or later).
"""
from collections.abc import Mapping, Sequence
import json
from typing import Any

from etils import epath

from jaxrobust.errors import ConfigError

RULES = {'ood_val': 'val', 'id_val': 'id_val', 'last': None}  # rule -> split it maximizes
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


def select(evaluations: Sequence[Mapping[str, Any]], rule: str) -> int:
  """Index of the evaluation `rule` selects among `evaluations` (step order, last = end).

  Each evaluation is {'step', 'scores': {split: {'macro_f1', ...}}}.
  """
  split = RULES[check_rule(rule)]
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
