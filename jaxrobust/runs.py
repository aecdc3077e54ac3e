"""Run identity: the known config fields and their valid values, config hash, run ids."""
import difflib
import hashlib
import json
import os
from typing import Any

from etils import epath
import ml_collections

from jaxrobust.train.defaults import run_defaults
from jaxrobust.errors import ConfigError

CONFIG_FILE = 'config.json'
# Fields that change where or how fast a run goes, never its results.
NON_RESULT_FIELDS = frozenset({
    'name', 'imports', 'data.data_dir', 'data.num_workers', 'data.prefetch', 'data.auto_prepare',
    'data.cache_decoded_mb',
    'eval_batch_size', 'checkpoint_every_steps', 'keep_checkpoints', 'log_every_steps',
    'resources.cpus', 'resources.gpus', 'resources.tpus',
})
# The run fields (under `data`) naming the role of each evaluated split (a study's benchmark).
SPLIT_ROLES = ('id_val_split', 'id_split', 'ood_val_split', 'ood_split')
# Fields that join the hash only where they differ from their default: the split roles default
# to WILDS' names, which runs on iWildCam-schema datasets leave unnamed in their ids.
HASHED_WHEN_CHANGED = {f'data.{role}': run_defaults().data[role] for role in SPLIT_ROLES}
DEFAULTS_FILE = 'jaxrobust/train/defaults.py'  # where error messages send the user


def _flatten(tree: dict[str, Any], prefix: str = '') -> dict[str, Any]:
  flat = {}
  for key, value in tree.items():
    if isinstance(value, dict):
      flat.update(_flatten(value, f'{prefix}{key}.'))
    else:
      flat[f'{prefix}{key}'] = value
  return flat


def _leaf_and_group_names(tree: dict[str, Any], prefix: str = '') -> set[str]:
  names = set()
  for key, value in tree.items():
    names.add(f'{prefix}{key}')
    if isinstance(value, dict):
      names |= _leaf_and_group_names(value, f'{prefix}{key}.')
  return names


def check_fields(config: ml_collections.ConfigDict) -> None:
  """Raises ConfigError naming the first field that run_defaults() does not define."""
  known = _leaf_and_group_names(run_defaults().to_dict())
  for name in sorted(_leaf_and_group_names(config.to_dict())):
    if name not in known:
      close = difflib.get_close_matches(name, known, n=1)
      hint = f' Did you mean {close[0]!r}?' if close else ''
      raise ConfigError(f'Unknown config field {name!r}.{hint} The fields of a run are '
                        f'listed in {DEFAULTS_FILE}.')


# Fields with a valid range: (field, test, what the value must be). Checked before anything
# of the run is written; checks that need the data (batch vs. examples) stay in the engine.
_VALUE_RULES = (
    ('optimizer.learning_rate', lambda v: v > 0, 'a positive number'),
    ('optimizer.warmup_steps', lambda v: v >= 0, 'a number of steps >= 0'),
    ('optimizer.momentum', lambda v: 0 <= v < 1, 'in [0, 1)'),
    ('optimizer.weight_decay', lambda v: v >= 0, '>= 0'),
    ('label_smoothing', lambda v: 0 <= v < 1, 'in [0, 1)'),
    ('data.image_size', lambda v: v > 0, 'a positive number of pixels'),
    ('data.num_workers', lambda v: v >= 0, 'a number of processes >= 0'),
    ('data.prefetch', lambda v: v >= 0, '>= 0'),
    ('data.cache_decoded_mb', lambda v: v >= 0, 'a size in MB >= 0 (0 turns the cache off)'),
    ('model.width', lambda v: v > 0, 'a positive width multiplier'),
    ('batch_size', lambda v: v > 0, 'a positive number of examples'),
    ('eval_batch_size', lambda v: v > 0, 'a positive number of examples'),
    ('num_epochs', lambda v: v is None or v > 0, 'a positive number of epochs (or unset)'),
    ('num_train_steps', lambda v: v is None or v > 0, 'a positive number of steps (or unset)'),
    ('checkpoint_every_steps', lambda v: v > 0, 'a positive number of steps'),
    ('keep_checkpoints', lambda v: v is None or v > 0, 'a positive number (or unset: keep all)'),
    ('log_every_steps', lambda v: v > 0, 'a positive number of steps'),
    ('eval_every_epochs', lambda v: v is None or v > 0, 'a positive number of epochs (or unset)'),
)


def check_values(config: ml_collections.ConfigDict) -> None:
  """Raises ConfigError naming the first field whose value is out of its valid range."""
  flat = _flatten(config.to_dict())
  for name, valid, what in _VALUE_RULES:
    value = flat[name]
    try:
      ok = valid(value)
    except TypeError:
      ok = False
    if not ok:
      raise ConfigError(f'config.{name}={value!r}: it must be {what}.')
  check_data_dir(config.data.data_dir, f'config.data.data_dir={config.data.data_dir}')


def check_data_dir(data_dir: str | None, named: str) -> None:
  """Raises ConfigError when `data_dir` (`named` so in the message) is a local file."""
  if data_dir and '://' not in data_dir and os.path.exists(data_dir) and not os.path.isdir(
      data_dir):
    raise ConfigError(f'{named} is a file; give the directory that holds the prepared '
                      'datasets.')


def check_run_config(config: ml_collections.ConfigDict) -> None:
  """Fails fast, before any file of the run is written, on unknown fields, values or models."""
  check_fields(config)
  check_values(config)
  from jaxrobust import models  # pylint: disable=g-import-not-at-top  (imports jax)
  if config.model.name not in models.model_names():
    close = difflib.get_close_matches(config.model.name, models.model_names(), n=1)
    hint = f' Did you mean {close[0]!r}?' if close else ''
    raise ConfigError(f'Unknown model {config.model.name!r} (config.model.name).{hint} '
                      f'Valid names: {", ".join(models.model_names())}.')


def _jsonable(value):
  if isinstance(value, dict):
    return {k: _jsonable(v) for k, v in value.items()}
  if isinstance(value, (tuple, list)):
    return [_jsonable(v) for v in value]
  return value


def resolved(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """The config as plain JSON-able values."""
  return _jsonable(config.to_dict())


def config_hash(config: ml_collections.ConfigDict) -> str:
  """sha256 (hex) of the resolved config, leaving out fields that do not change results."""
  flat = {k: v for k, v in _flatten(resolved(config)).items()
          if k not in NON_RESULT_FIELDS
          and not (k in HASHED_WHEN_CHANGED and HASHED_WHEN_CHANGED[k] == v)}
  text = json.dumps(flat, sort_keys=True, separators=(',', ':'))
  return hashlib.sha256(text.encode()).hexdigest()


def run_id(name: str, config: ml_collections.ConfigDict) -> str:
  """'<name>-<first 8 hex digits of config_hash>'."""
  return f'{name}-{config_hash(config)[:8]}'


def write_config(config: ml_collections.ConfigDict, path: str | epath.Path) -> None:
  """Writes the resolved config as JSON (creating the parent directory)."""
  path = epath.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(json.dumps(resolved(config), indent=2, sort_keys=True) + '\n')


def read_config(path: str | epath.Path) -> ml_collections.ConfigDict:
  """A config written by `write_config` (lists come back as lists)."""
  return ml_collections.ConfigDict(json.loads(epath.Path(path).read_text()))


def absolute_path(path: str | os.PathLike[str]) -> epath.Path:
  """`path` made absolute (orbax refuses relative paths); URLs such as gs://b/w are kept."""
  text = os.fspath(path)
  return epath.Path(text if '://' in text else os.path.abspath(text))
