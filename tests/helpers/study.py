"""Study test helpers: the study config names, a small study, a fake engine."""
import fnmatch
import json
import os
import pathlib

import ml_collections

from jaxrobust import errors
from jaxrobust.study import recipes
from jaxrobust.study import plan_study
from jaxrobust.train.result import RunResult

STUDIES = ('quickstart', 'quantity', 'granularity', 'semantics', 'diversity', 'sources',
           'scratch')


def small_study(data_dir: str) -> ml_collections.ConfigDict:
  """Two pre-training settings x two fine-tune settings + three scratch runs (test scale)."""
  common = recipes
  c = common.study_defaults('small', 'local,test', 'two settings')
  c.data_dir = data_dir
  for name, n in (('n40', 40), ('n80', 80)):
    c.pretrain_settings[name] = common.pretrain_setting(
        common.subset('fractaldb/tiny', num_examples=n))
  c.finetune_settings.lr3e4 = {'optimizer': {'learning_rate': 3e-4}}
  return c


def prepared_small_study(tmp_path: pathlib.Path) -> ml_collections.ConfigDict:
  """small_study() with a prepared fake of every dataset, so preparing has nothing to build."""
  return with_fake_datasets(small_study(str(tmp_path / 'data')))


def with_fake_datasets(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """The study `c`, every dataset it reads faked as prepared in `c.data_dir` (240 examples)."""
  needs = {source['name'] for r in plan_study(c) if r.subset is not None
           for source in r.subset['sources']}
  needs |= {r.dataset for r in plan_study(c)}
  for name in needs:
    path = pathlib.Path(c.data_dir, name, '1.0.0')
    os.makedirs(path, exist_ok=True)
    evaluated = c.finetune.data.eval_splits if name == c.finetune.data.name else ()
    (path / 'dataset_info.json').write_text(json.dumps(
        {'splits': [{'name': s, 'shardLengths': ['240']} for s in ('train', *evaluated)]}))
  return c


class FakeEngine:
  """Stands in for train_and_evaluate: records calls and writes what the real stage writes.

  Writes result.json (DESIGN.md schema) for finetune/scratch runs with scores derived from the
  run id, so the analysis has something to fit; it can be told to die at a given call, or to
  fail as a diverging run does for the runs whose id matches the glob `nan_for`.
  """

  def __init__(self, die_at: int | None = None, nan_for: str | None = None):
    self.calls: list[str] = []
    self.die_at = die_at
    self.nan_for = nan_for

  def __call__(self, config, run_dir):
    run_id = os.path.basename(run_dir)
    self.calls.append(run_id)
    if self.die_at is not None and len(self.calls) == self.die_at:
      raise KeyboardInterrupt(f'killed during {run_id}')
    if self.nan_for and fnmatch.fnmatchcase(run_id, self.nan_for):
      raise errors.NonFiniteLossError(f'{run_id}: the training loss is NaN at step 2')
    if config.kind == 'finetune':
      assert os.path.exists(os.path.join(config.init.model_init, 'finished.json')), (
          f'{run_id} started before its pre-training finished')
    if config.kind != 'pretrain':
      _write_result(config, run_dir, run_id)
    return RunResult(run_dir=run_dir, step=3, num_train_steps=3, train_loss=1.0, scores={},
                     outputs={}, wall_seconds=0.01)


def _write_result(config, run_dir: str, run_id: str) -> None:
  seed = sum(run_id.encode()) % 97 / 97
  base = 0.3 + 0.4 * seed
  ood = base - 0.1 + (0.05 if config.kind == 'finetune' else 0.0)
  result = {
      'run_id': run_id, 'study': 'small', 'kind': config.kind,
      'pretrain': None if config.kind == 'scratch' else {'num_examples': 40 + len(run_id)},
      'finetune': {'dataset': config.data.name, 'lr': config.optimizer.learning_rate},
      'metrics': {'id': {'split': 'id_test', 'macro_f1': base, 'accuracy': base,
                         'num_examples': 60},
                  'ood': {'split': 'test', 'macro_f1': ood, 'accuracy': ood,
                          'num_examples': 60}},
      'config_hash': 'x', 'wall_seconds': 0.01}
  os.makedirs(run_dir, exist_ok=True)
  with open(os.path.join(run_dir, 'result.json'), 'w') as f:
    json.dump(result, f)
