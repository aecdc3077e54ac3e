"""A study's benchmark: the fine-tune dataset and the role of each of its splits.

`config.benchmark` of a study (recipes.study_defaults) names the dataset fine-tunes and scratch
runs train on and which of its splits is the training split, ID validation, ID test, OOD
validation and OOD test:
  name           TFDS name[/config] (a user's builder registers through config.imports)
  train_split    trained on
  id_val_split   the `id_val` selection rule maximizes its macro-F1
  id_split       result.json's metrics.id (the x axis of effective robustness)
  ood_val_split  the `ood_val` selection rule (WILDS' default) maximizes its macro-F1
  ood_split      result.json's metrics.ood (the y axis)
  label_key      the label feature trained on
WILDS' names (train, id_val, id_test, val, test; the run defaults) are the defaults. The plan writes the block
into the fine-tune and scratch templates (`apply`); a setting may still override a run field.
"""
from typing import Any

import ml_collections

from jaxrobust import runs
from jaxrobust.errors import ConfigError
from jaxrobust.train import defaults

# Run fields (under `data`) of each split role, in the order the runs evaluate them.
ROLES = runs.SPLIT_ROLES
SELECTION_ROLES = ('id_val_split', 'ood_val_split')  # scored at every evaluation
FIELDS = ('name', 'train_split', *ROLES, 'label_key')


def block(name: str, **fields: str) -> ml_collections.ConfigDict:
  """A `config.benchmark` block; the fields left out take the run defaults (WILDS' names)."""
  data = defaults.run_defaults().data
  bench = ml_collections.ConfigDict({'name': name, **{f: data[f] for f in FIELDS[1:]}})
  for key, value in fields.items():
    if key not in bench:
      raise ConfigError(f'{key} is not a benchmark field; the fields are {", ".join(FIELDS)}.')
    bench[key] = value
  return bench


def _check_block(bench: ml_collections.ConfigDict) -> None:
  missing = [f for f in FIELDS if f not in bench or not bench[f]]
  if missing:
    raise ConfigError(f'config.benchmark lacks {", ".join(missing)}; it needs {", ".join(FIELDS)}.')
  unknown = sorted(set(bench) - set(FIELDS))
  if unknown:
    raise ConfigError(f'config.benchmark.{unknown[0]} is not a benchmark field; the fields are '
                      f'{", ".join(FIELDS)}.')
  evaluated = [bench[r] for r in ROLES]
  if bench.train_split in evaluated:
    raise ConfigError(f'config.benchmark.train_split={bench.train_split!r} is also an '
                      'evaluation split; models would be scored on their training data.')
  if bench.id_split == bench.ood_split:
    raise ConfigError(f'config.benchmark.id_split and ood_split are both {bench.id_split!r}; '
                      'effective robustness compares two different test splits.')


def apply(run: ml_collections.ConfigDict, bench: ml_collections.ConfigDict) -> None:
  """Writes the benchmark into a fine-tune or scratch run config (data fields)."""
  _check_block(bench)
  run.data.name = bench.name
  run.data.train_split = bench.train_split
  run.data.label_key = bench.label_key
  for role in ROLES:
    run.data[role] = bench[role]
  run.data.eval_splits = tuple(dict.fromkeys(bench[r] for r in ROLES))
  run.data.selection_splits = tuple(dict.fromkeys(bench[r] for r in SELECTION_ROLES))


def id_ood_splits(run: ml_collections.ConfigDict) -> tuple[str, str]:
  """(ID test split, OOD test split) of a fine-tune or scratch run config."""
  return run.data.id_split, run.data.ood_split


def check_splits(run: ml_collections.ConfigDict, available: Any) -> None:
  """Refuses a run whose declared splits the built dataset lacks, listing the ones it has."""
  declared = {'train_split': run.data.train_split, **{r: run.data[r] for r in ROLES}}
  missing = [f'{role}={split!r}' for role, split in declared.items() if split not in available]
  if missing:
    raise ConfigError(f'dataset {run.data.name} has no split {", ".join(missing)} '
                      f'(config.benchmark); its splits are {", ".join(sorted(available))}.')
