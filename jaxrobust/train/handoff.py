"""Fine-tune handoff: a pre-trained backbone restored into a freshly built model.

`config.init.model_init` names the pre-training run directory (the one holding
`checkpoints/`), its `checkpoints/` folder, or one step directory `checkpoints/<step>`;
a directory gives its latest complete step. Every Param and BatchStat whose path (as in
optim.py: 'blocks/0/conv1/conv/kernel') matches none of the `config.init.dont_load`
regexes is restored bit for bit; the matching ones (default: the head) keep the fresh
initialization, so a model pre-trained on N classes fine-tunes on M. Any other mismatch
(a key on one side only, a shape conflict) is refused with the keys named. Only the
arrays that are loaded are read (orbax partial restore): not the optimizer state.
"""
from collections.abc import Sequence
import dataclasses
import re
from typing import Any

from absl import logging
from etils import epath
from flax import nnx
import jax
import ml_collections
import orbax.checkpoint as ocp

from jaxrobust import runs
from jaxrobust.errors import ConfigError
from jaxrobust.train import checkpoint
from jaxrobust.train import optim

# Collections of the saved train state (step.py) and the nnx variable types they hold.
COLLECTIONS = {'params': nnx.Param, 'batch_stats': nnx.BatchStat}
_MAX_KEYS_SHOWN = 6


@dataclasses.dataclass(frozen=True)
class PretrainedCheckpoint:
  """Where a fine-tune starts from."""
  step_dir: epath.Path             # <run_dir>/checkpoints/<step>
  step: int
  run_dir: epath.Path | None       # the pre-training run directory, if it has config.json

  def run_config(self) -> ml_collections.ConfigDict | None:
    """The pre-training run's config.json, None when the checkpoint came without one."""
    return runs.read_config(self.run_dir / runs.CONFIG_FILE) if self.run_dir else None

  def manager(self) -> ocp.CheckpointManager:
    """A read-only manager of the checkpoints folder holding `step_dir`."""
    return checkpoint.checkpoint_manager(self.step_dir.parent, read_only=True)

  def saved_tree(self) -> dict[str, Any]:
    """Shapes and dtypes of the saved train state (orbax metadata; reads no arrays)."""
    with self.manager() as manager:
      return checkpoint.saved_tree(manager, self.step)


def _is_step_dir(path: epath.Path) -> bool:
  return path.name.isdigit() and (path / checkpoint.STATE).is_dir()


def find_checkpoint(model_init: str) -> PretrainedCheckpoint:
  """The checkpoint `model_init` names: a run dir, its checkpoints/ dir or one step dir."""
  path = runs.absolute_path(model_init)
  if _is_step_dir(path):
    step_dir = path
  else:
    checkpoints_dir = path / checkpoint.CHECKPOINT_DIR if (
        path / checkpoint.CHECKPOINT_DIR).is_dir() else path
    steps = sorted((int(p.name) for p in checkpoints_dir.iterdir() if _is_step_dir(p))
                   if checkpoints_dir.is_dir() else [])
    if not steps:
      raise ConfigError(
          f'config.init.model_init={model_init}: no orbax checkpoint there; give the '
          f'pre-training run directory (holding {checkpoint.CHECKPOINT_DIR}/<step>/) or one '
          f'checkpoint step directory, and make sure the pre-training run has saved a step.')
    step_dir = checkpoints_dir / str(steps[-1])
  run_dir = step_dir.parent.parent
  has_config = (run_dir / runs.CONFIG_FILE).exists()
  return PretrainedCheckpoint(step_dir=step_dir, step=int(step_dir.name),
                              run_dir=run_dir if has_config else None)


def _flatten(tree: Any) -> dict[str, Any]:
  """{'blocks/0/conv1/conv/kernel': leaf} of a nested dict (checkpoint metadata included)."""
  leaves = jax.tree_util.tree_leaves_with_path(
      tree, is_leaf=lambda x: not isinstance(x, dict))
  return {optim.param_path(path): leaf for path, leaf in leaves if leaf is not None}


def _select(tree: dict, keep: set[str], prefix: str = '') -> dict:
  """The sub-tree of nested dict `tree` holding only the leaves whose path is in `keep`."""
  out = {}
  for key, value in tree.items():
    path = f'{prefix}{key}'
    if isinstance(value, dict):
      sub = _select(value, keep, f'{path}/')
      if sub:
        out[key] = sub
    elif path in keep:
      out[key] = value
  return out


def _shown(keys: Sequence[str]) -> str:
  more = f' (+{len(keys) - _MAX_KEYS_SHOWN} more)' if len(keys) > _MAX_KEYS_SHOWN else ''
  return ', '.join(keys[:_MAX_KEYS_SHOWN]) + more


def _mismatch_message(found: PretrainedCheckpoint, missing: list[str], unexpected: list[str],
                      conflicts: list[str]) -> str:
  parts = []
  if missing:
    parts.append(f'missing from the checkpoint: {_shown(missing)}')
  if unexpected:
    parts.append(f'not in the model: {_shown(unexpected)}')
  if conflicts:
    parts.append(f'shapes differ (checkpoint vs model): {_shown(conflicts)}')
  pretrain = found.run_config()
  if pretrain is not None:
    m = pretrain.model
    hint = (f'Build the pre-trained architecture (its config.json has model.name={m.name}, '
            f'model.stem={m.stem}, model.width={m.width})')
  else:
    hint = 'Build the architecture that was pre-trained (config.model.*)'
  return (f'Checkpoint {found.step_dir} (config.init.model_init) does not fit the model: '
          f'{"; ".join(parts)}. {hint}, or add the keys to config.init.dont_load if they '
          f'should stay freshly initialized.')


def _by_key(tree_of: dict[str, Any]) -> dict[str, Any]:
  """{'params/blocks/0/...': leaf} over the collections of a {collection: tree} mapping."""
  return {f'{collection}/{path}': leaf for collection in COLLECTIONS
          for path, leaf in sorted(_flatten(tree_of.get(collection) or {}).items())}


def _without_collection(key: str) -> str:
  return key.split('/', 1)[1]  # 'params/head/kernel' -> 'head/kernel', as dont_load sees it


def _check_fits(found: PretrainedCheckpoint, model_leaves: dict[str, Any],
                saved_leaves: dict[str, Any], dont_load: Sequence[str]) -> list[str]:
  """The keys to load; raises ConfigError naming every other mismatch."""
  patterns = [re.compile(p) for p in dont_load]
  skip = lambda key: any(p.fullmatch(_without_collection(key)) for p in patterns)
  load = [k for k in model_leaves if not skip(k)]
  missing = [k for k in load if k not in saved_leaves]
  unexpected = [k for k in saved_leaves if k not in model_leaves and not skip(k)]
  conflicts = [f'{k} {tuple(saved_leaves[k].shape)} vs {tuple(model_leaves[k].shape)}'
               for k in load if k in saved_leaves
               and tuple(saved_leaves[k].shape) != tuple(model_leaves[k].shape)]
  if missing or unexpected or conflicts:
    raise ConfigError(_mismatch_message(found, missing, unexpected, conflicts))
  for pattern in patterns:
    if not any(pattern.fullmatch(_without_collection(k)) for k in model_leaves):
      logging.warning('config.init.dont_load pattern %r matches no parameter of the model.',
                      pattern.pattern)
  return load


def _read_arrays(found: PretrainedCheckpoint, saved: dict[str, Any], load: list[str],
                 model_leaves: dict[str, Any]) -> dict[str, jax.Array]:
  """{key: array} of the `load` keys only (orbax partial restore), where the model's live."""
  wanted = {}
  for collection in COLLECTIONS:
    keep = {_without_collection(k) for k in load if k.startswith(f'{collection}/')}
    if keep:
      wanted[collection] = _select(saved.get(collection) or {}, keep)
  def like_model(collection, path, meta):
    array = model_leaves[f'{collection}/{optim.param_path(path)}']
    return jax.ShapeDtypeStruct(meta.shape, array.dtype, sharding=array.sharding)
  target = {c: jax.tree_util.tree_map_with_path(
      lambda path, meta, c=c: like_model(c, path, meta), tree,
      is_leaf=lambda x: not isinstance(x, dict)) for c, tree in wanted.items()}
  with found.manager() as manager:
    return _by_key(checkpoint.restore_partial(manager, found.step, target))


def restore_backbone(model: nnx.Module, init: ml_collections.ConfigDict
                     ) -> PretrainedCheckpoint:
  """Loads every param/batch stat of `model` not matched by `init.dont_load` from `init.model_init`.

  Updates `model` in place; returns the checkpoint it read. Raises ConfigError naming the
  keys on any mismatch other than the excluded ones (e.g. another architecture), and
  CheckpointReadError naming the run and step when the checkpoint's files are damaged.
  """
  found = find_checkpoint(init.model_init)
  try:
    saved = found.saved_tree()
    states = {c: nnx.state(model, t) for c, t in COLLECTIONS.items()}
    model_leaves = _by_key({c: nnx.to_pure_dict(s) for c, s in states.items()})
    load = _check_fits(found, model_leaves, _by_key(saved), init.dont_load)
    restored = _read_arrays(found, saved, load, model_leaves)
  except checkpoint.CheckpointReadError as e:
    run = found.run_dir.name if found.run_dir else found.step_dir.parent.parent
    raise checkpoint.CheckpointReadError(
        f'Pre-training run {run}: step {found.step} cannot be read ({e}). Delete '
        f'{found.step_dir} (in a study also the run\'s finished.json) and rerun the '
        f'pre-training, which re-creates step {found.step} from its previous checkpoint.'
        ) from None
  for collection, state in states.items():
    pure = jax.tree_util.tree_map_with_path(
        lambda path, x, c=collection: restored.get(f'{c}/{optim.param_path(path)}', x),
        nnx.to_pure_dict(state))
    nnx.replace_by_pure_dict(state, pure)
    nnx.update(model, state)
  logging.info('Restored %d arrays from %s; %d stay freshly initialized '
               '(config.init.dont_load=%s).', len(load), found.step_dir,
               len(model_leaves) - len(load), list(init.dont_load))
  return found
