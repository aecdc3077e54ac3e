"""orbax checkpoints of a run: train state + input position, async, keep-N.

Layout under `<run_dir>/checkpoints/<step>/`:
  state/            orbax PyTree of {'step', 'params', 'batch_stats', 'opt_state'} (step.py)
  data/metadata     JSON state of the training input: {"next_batch": n, ...}
The input is a random-access grain dataset whose global batch k is fixed by the seed
(data/pipeline.py), so its position is the whole iterator state: unlike grain's own
iterator state it survives a change of worker, process or device count.
A step directory exists only once complete (orbax commits it atomically), so a run killed
while saving resumes from the previous one.

Every read and write goes through one `ocp.CheckpointManager` over `checkpoints/`: resume
(`restore`), the fine-tune handoff (`saved_tree` + `restore_partial`) and tests
(`read_state`). The state item uses `PyTreeCheckpointHandler`, the handler orbax documents for
customization: its type-handler registry (below) and partial restoration.
"""
from typing import Any

from etils import epath
import jax
import numpy as np
import orbax.checkpoint as ocp

from jaxrobust import runs

CHECKPOINT_DIR = 'checkpoints'
STATE = 'state'
DATA = 'data'


def _state_handler() -> ocp.PyTreeCheckpointHandler:
  # Orbax splits replicated arrays over the replicas that write them; on CPU that gains
  # nothing and costs one compiled slice per array shape (many seconds for small models).
  array_handler = ocp.type_handlers.ArrayHandler(
      use_replica_parallel=jax.default_backend() != 'cpu')
  registry = ocp.type_handlers.create_type_handler_registry(
      (jax.Array, array_handler), (np.ndarray, ocp.type_handlers.NumpyHandler()),
      (np.number, ocp.type_handlers.ScalarHandler()), (int, ocp.type_handlers.ScalarHandler()),
      (float, ocp.type_handlers.ScalarHandler()))
  return ocp.PyTreeCheckpointHandler(type_handler_registry=registry)


def checkpoint_manager(checkpoints_dir: str | epath.Path, *, keep: int | None = None,
                       read_only: bool = False) -> ocp.CheckpointManager:
  """The manager of a `checkpoints/` folder: async saves keeping `keep`, or read-only."""
  if read_only:
    options = ocp.CheckpointManagerOptions(read_only=True, create=False,
                                           enable_async_checkpointing=False)
  else:
    options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True,
                                           enable_async_checkpointing=True)
  return ocp.CheckpointManager(
      runs.absolute_path(checkpoints_dir), options=options,
      item_handlers={STATE: _state_handler(), DATA: ocp.JsonCheckpointHandler()})


def save(manager: ocp.CheckpointManager, state: dict[str, Any],
         data_state: dict[str, Any]) -> None:
  """Starts saving `state` and the input position `data_state` at `state['step']`."""
  step = int(jax.device_get(state['step']))
  manager.save(step, args=ocp.args.Composite(**{
      STATE: ocp.args.PyTreeSave(state), DATA: ocp.args.JsonSave(data_state)}))


def restore(manager: ocp.CheckpointManager, step: int, target_state: dict[str, Any]
            ) -> tuple[dict[str, Any], dict[str, Any]]:
  """(train state, input position) saved at `step`, with `target_state`'s shardings."""
  restored = manager.restore(step, args=ocp.args.Composite(**{
      STATE: ocp.args.PyTreeRestore(
          item=target_state,
          restore_args=ocp.checkpoint_utils.construct_restore_args(target_state)),
      DATA: ocp.args.JsonRestore()}))
  return restored[STATE], restored[DATA]


def saved_tree(manager: ocp.CheckpointManager, step: int) -> dict[str, Any]:
  """Shapes and dtypes of the train state saved at `step` (metadata; reads no arrays)."""
  return manager.item_metadata(step)[STATE].tree


def restore_partial(manager: ocp.CheckpointManager, step: int, target: dict[str, Any]
                    ) -> dict[str, Any]:
  """Only the leaves of `target` (ShapeDtypeStructs with shardings) from the state at `step`."""
  restored = manager.restore(step, args=ocp.args.Composite(**{
      STATE: ocp.args.PyTreeRestore(
          item=target, restore_args=ocp.checkpoint_utils.construct_restore_args(target),
          partial_restore=True)}))
  return restored[STATE]


def read_state(step_dir: str | epath.Path) -> dict[str, Any]:
  """The train state of one step directory (e.g. `.../checkpoints/400`) as numpy arrays."""
  step_dir = runs.absolute_path(step_dir)
  with checkpoint_manager(step_dir.parent, read_only=True) as manager:
    step = int(step_dir.name)
    to_numpy = jax.tree.map(lambda _: ocp.RestoreArgs(restore_type=np.ndarray),
                            saved_tree(manager, step))
    restored = manager.restore(step, args=ocp.args.Composite(**{
        STATE: ocp.args.PyTreeRestore(restore_args=to_numpy)}))
  return restored[STATE]
