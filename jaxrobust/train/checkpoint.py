"""orbax checkpoints of a run: train state + input position, async, keep-N.

Layout under `<run_dir>/checkpoints/<step>/`:
  state/            orbax PyTree of {'step', 'params', 'batch_stats', 'opt_state'} (step.py)
  data/metadata     JSON state of the training input: {"next_batch": n, ...}
The input is a random-access grain dataset whose global batch k is fixed by the seed
(data/pipeline.py), so its position is the whole iterator state: unlike grain's own
iterator state it survives a change of worker, process or device count.
A step directory exists only once complete (orbax commits it atomically), so a run killed
while saving resumes from the previous one. `data/metadata` also holds a CRC-32 of every
replicated leaf of the state (`checksums`), so bytes damaged after the commit are detected:
`restore_latest` moves a step that fails to restore aside (`<step>.corrupt-<n>`, never
deleted) and resumes from the newest one that restores; any read failure is a one-line
`CheckpointReadError`.

Every read and write goes through one `ocp.CheckpointManager` over `checkpoints/`: resume
(`restore`), the fine-tune handoff (`saved_tree` + `restore_partial`) and tests
(`read_state`). The state item uses `PyTreeCheckpointHandler`, the handler orbax documents for
customization: its type-handler registry (below) and partial restoration.
"""
from collections.abc import Iterator
import contextlib
import errno
import gc
import sys
from typing import Any
import zlib

from absl import logging
from etils import epath
import jax
import numpy as np
import orbax.checkpoint as ocp

from jaxrobust import errors
from jaxrobust import runs

CHECKPOINT_DIR = 'checkpoints'
STATE = 'state'
DATA = 'data'
CHECKSUMS = 'checksums'  # key of data/metadata: {leaf path: CRC-32 of its bytes}
CORRUPT_SUFFIX = '.corrupt-'
_ORBAX_TMP = '.orbax-checkpoint-tmp'  # orbax's folders of a save in progress
# How orbax and tensorstore report a full disk when the OSError itself stays in C++.
_DISK_FULL = ('No space left on device', "os_error_code='28'")
# What orbax and tensorstore raise on damaged files: truncated or overwritten arrays
# (ValueError: OUT_OF_RANGE / DATA_LOSS), bad JSON (JSONDecodeError), a missing item (KeyError).
_READ_ERRORS = (ValueError, KeyError, OSError, TypeError)


class CheckpointReadError(errors.UserError):
  """A checkpoint step cannot be read back: damaged or incomplete files."""


def _leaf_path(path) -> str:
  return jax.tree_util.keystr(path, simple=True, separator='/')


def checksums(state: dict[str, Any]) -> dict[str, int]:
  """{leaf path: CRC-32 of its bytes} of the replicated leaves of `state` (one local copy)."""
  out = {}
  for path, leaf in jax.tree_util.tree_leaves_with_path(state):
    if isinstance(leaf, jax.Array):
      if not leaf.is_fully_replicated:
        continue
      leaf = leaf.addressable_data(0)
    out[_leaf_path(path)] = zlib.crc32(np.ascontiguousarray(leaf).view(np.uint8))
  return out


def _check_leaves(step_dir: epath.Path, restored: dict[str, Any],
                  expected: dict[str, int] | None) -> None:
  """Raises CheckpointReadError if a restored leaf differs from the checksum saved with it."""
  if expected is None:  # saved before checksums were recorded
    return
  actual = checksums(restored)
  bad = [p for p, crc in actual.items() if p in expected and expected[p] != crc]
  if bad:
    raise CheckpointReadError(f'Checkpoint {step_dir} is damaged: {len(bad)} arrays differ '
                              f'from their saved checksum (first: {bad[0]}).')


@contextlib.contextmanager
def _reading(step_dir: epath.Path) -> Iterator[None]:
  """Turns orbax's errors on damaged files into a one-line CheckpointReadError."""
  try:
    yield
    return
  except Exception as e:  # pylint: disable=broad-exception-caught
    if type(e) is Exception and e.__cause__ is not None:  # orbax's wrapper of a read error
      e = e.__cause__
    if not isinstance(e, _READ_ERRORS):
      raise
    message = f'Checkpoint {step_dir} cannot be read ({type(e).__name__}: {errors.one_line(e)}).'
  _finalize_abandoned_reads()
  raise CheckpointReadError(message)


def _finalize_abandoned_reads() -> None:
  """Finalizes the read coroutines a failed restore abandoned, quietly.

  When one array of a checkpoint cannot be read, orbax gives up on its other pending reads;
  the garbage collector then reports each as 'Exception ignored in <coroutine ...>' with a
  long traceback, though they are the same damaged read the caller reports in one line.
  """
  hook = sys.unraisablehook
  sys.unraisablehook = lambda unraisable: logging.debug(
      'Abandoned checkpoint read: %r', unraisable.exc_value)
  try:
    gc.collect()
  finally:
    sys.unraisablehook = hook


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


def checkpoint_manager(checkpoints_dir: epath.Path, *, keep: int | None = None,
                       read_only: bool = False) -> ocp.CheckpointManager:
  """The manager of an absolute `checkpoints/` folder: async saves keeping `keep`, or read-only."""
  if read_only:
    options = ocp.CheckpointManagerOptions(read_only=True, create=False,
                                           enable_async_checkpointing=False)
  else:
    options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True,
                                           enable_async_checkpointing=True,
                                           cleanup_tmp_directories=True)  # failed saves' parts
  return ocp.CheckpointManager(
      checkpoints_dir, options=options,
      item_handlers={STATE: _state_handler(), DATA: ocp.JsonCheckpointHandler()})


class CheckpointWriteError(errors.UserError):
  """A checkpoint step could not be written (e.g. a full disk); the earlier steps are intact."""


def disk_full(error: BaseException | None) -> bool:
  """Whether `error` or an error behind it says the disk is full (ENOSPC)."""
  while error is not None:
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
      return True
    if any(text in str(error) for text in _DISK_FULL):
      return True
    error = error.__cause__ or error.__context__
  return False


def _megabytes(num_bytes: int) -> str:
  return f'{num_bytes / 2**20:.1f} MB' if num_bytes >= 2**20 else f'{num_bytes / 2**10:.0f} KB'


def _tree_bytes(path: epath.Path) -> int:
  return sum(_tree_bytes(p) if p.is_dir() else p.stat().length for p in path.iterdir())


class Saver:
  """The saves of one run: asynchronous, and a failed one stops the run with one line.

  `check` (every step) and `save` raise CheckpointWriteError as soon as orbax reports that a
  save failed, after waiting for the background writes to end and removing the partial step
  (orbax's `*.orbax-checkpoint-tmp*` folders; writes still in flight may leave some, which the
  manager of the rerun removes); the message names the step, the folder, the
  space a step takes and the last intact step, from which a rerun resumes exactly.
  """

  def __init__(self, manager: ocp.CheckpointManager):
    self.manager = manager
    self.directory = epath.Path(manager.directory)
    self._started: list[int] = []
    self._state_bytes = 0

  def save(self, state: dict[str, Any], data_state: dict[str, Any]) -> None:
    """Starts saving `state` (see `save`); raises CheckpointWriteError if a save failed."""
    self._state_bytes = sum(getattr(leaf, 'nbytes', 0) for leaf in jax.tree.leaves(state))
    with self._failing():
      step = int(jax.device_get(state['step']))
      self._started.append(step)
      save(self.manager, step, state, data_state)

  def check(self) -> None:
    """Raises CheckpointWriteError if a save that ended in the background failed."""
    with self._failing():
      self.manager.check_for_errors()

  def wait(self) -> None:
    """Waits for the saves in flight; raises CheckpointWriteError if one failed."""
    with self._failing():
      self.manager.wait_until_finished()

  @contextlib.contextmanager
  def _failing(self) -> Iterator[None]:
    try:
      yield
    except Exception as e:  # pylint: disable=broad-exception-caught  (orbax wraps any cause)
      raise self.failure(e) from None

  def failure(self, error: BaseException) -> CheckpointWriteError:
    """The one-line error of a failed save, or of another write of the run when none failed.

    Waits for the saves in flight and removes the partial step first.
    """
    with contextlib.suppress(Exception):  # the other writes of the failed save end first
      self.manager.wait_until_finished()
    if jax.process_index() == 0:
      for partial in self.directory.glob(f'*{_ORBAX_TMP}*'):
        # A write still in flight may refill it; the rerun removes what is left.
        with contextlib.suppress(OSError):
          partial.rmtree(missing_ok=True)
    intact = sorted(int(p.name) for p in self.directory.iterdir() if p.name.isdigit())
    failed = next((s for s in self._started if not intact or s > intact[-1]), None)
    size = _tree_bytes(self.directory / str(intact[-1])) if intact else self._state_bytes
    reason = ('the disk is full' if disk_full(error)
              else f'{type(error).__name__}: {errors.one_line(error)}')
    last = (f'step {intact[-1]} in {self.directory}' if intact
            else 'none yet (the rerun starts at step 0)')
    what = (f'Saving checkpoint step {failed} in {self.directory}' if failed is not None
            else f'Writing to {self.directory.parent}')
    return CheckpointWriteError(
        f'{what} failed: {reason} (a checkpoint step takes about {_megabytes(size)}). Partial '
        f'saves are removed (a rerun removes what is left); last intact checkpoint: {last}. '
        'Free space (or fix the cause) and rerun the same command to resume from it.')


def save(manager: ocp.CheckpointManager, step: int, state: dict[str, Any],
         data_state: dict[str, Any]) -> None:
  """Starts saving `state` (at `step`) and the input position `data_state`."""
  data_state = {**data_state, CHECKSUMS: checksums(state)}
  manager.save(step, args=ocp.args.Composite(**{
      STATE: ocp.args.PyTreeSave(state), DATA: ocp.args.JsonSave(data_state)}))


def restore(manager: ocp.CheckpointManager, step: int, target_state: dict[str, Any]
            ) -> tuple[dict[str, Any], dict[str, Any]]:
  """(train state, input position) saved at `step`, with `target_state`'s shardings.

  Raises CheckpointReadError when the step's files are damaged.
  """
  step_dir = epath.Path(manager.directory) / str(step)
  with _reading(step_dir):
    restored = manager.restore(step, args=ocp.args.Composite(**{
        STATE: ocp.args.PyTreeRestore(
            item=target_state,
            restore_args=ocp.checkpoint_utils.construct_restore_args(target_state)),
        DATA: ocp.args.JsonRestore()}))
    state, data_state = restored[STATE], dict(restored[DATA])
    _check_leaves(step_dir, state, data_state.pop(CHECKSUMS, None))
    if data_state.get('next_batch') != step:
      raise CheckpointReadError(f'Checkpoint {step_dir} is inconsistent: its input position '
                                f'{data_state.get("next_batch")} is not its step.')
  return state, data_state


def _move_aside(step_dir: epath.Path) -> epath.Path:
  """Renames a damaged step directory to `<step>.corrupt-<n>` (kept for inspection)."""
  n = 1
  while (target := step_dir.parent / f'{step_dir.name}{CORRUPT_SUFFIX}{n}').exists():
    n += 1
  step_dir.rename(target)
  return target


def restore_latest(manager: ocp.CheckpointManager, target_state: dict[str, Any]
                   ) -> tuple[dict[str, Any], dict[str, Any], int]:
  """(state, data state, step) of the newest step that restores; (`target_state`, {}, 0) if none.

  Each newer step that fails to restore is moved aside (process 0 renames it) with one
  warning naming it.
  """
  state, data_state, found = target_state, {}, 0
  damaged = False
  for step in sorted(manager.all_steps(), reverse=True):
    try:
      state, data_state = restore(manager, step, target_state)
      found = step
      break
    except CheckpointReadError as e:
      damaged = True
      step_dir = epath.Path(manager.directory) / str(step)
      if jax.process_index() == 0:
        step_dir = _move_aside(step_dir)
      logging.warning('%s Moved it aside to %s; resuming from the previous step.', e, step_dir)
  if damaged:
    manager.reload()
    if not found:
      logging.warning('No checkpoint in %s restores; the run starts again from step 0.',
                      manager.directory)
  return state, data_state, found


def saved_tree(manager: ocp.CheckpointManager, step: int) -> dict[str, Any]:
  """Shapes and dtypes of the train state saved at `step` (metadata; reads no arrays)."""
  with _reading(epath.Path(manager.directory) / str(step)):
    return manager.item_metadata(step)[STATE].tree


def restore_partial(manager: ocp.CheckpointManager, step: int, target: dict[str, Any]
                    ) -> dict[str, Any]:
  """Only the leaves of `target` (ShapeDtypeStructs with shardings) from the state at `step`.

  Raises CheckpointReadError when those files are damaged.
  """
  step_dir = epath.Path(manager.directory) / str(step)
  with _reading(step_dir):
    restored = manager.restore(step, args=ocp.args.Composite(**{
        STATE: ocp.args.PyTreeRestore(
            item=target, restore_args=ocp.checkpoint_utils.construct_restore_args(target),
            partial_restore=True),
        DATA: ocp.args.JsonRestore()}))
    _check_leaves(step_dir, restored[STATE], restored[DATA].get(CHECKSUMS))
  return restored[STATE]


def read_state(step_dir: str | epath.Path) -> dict[str, Any]:
  """The train state of one step directory (e.g. `.../checkpoints/400`) as numpy arrays."""
  step_dir = runs.absolute_path(step_dir)
  with checkpoint_manager(step_dir.parent, read_only=True) as manager, _reading(step_dir):
    step = int(step_dir.name)
    to_numpy = jax.tree.map(lambda _: ocp.RestoreArgs(restore_type=np.ndarray),
                            saved_tree(manager, step))
    restored = manager.restore(step, args=ocp.args.Composite(**{
        STATE: ocp.args.PyTreeRestore(restore_args=to_numpy)}))
  return restored[STATE]
