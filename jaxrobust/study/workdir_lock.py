"""One writer per workdir: an exclusive lock file `DIR/.lock` naming its holder.

A study (jaxrobust.study.runner.run_study) or a single run (jaxrobust.study.stages.execute_single)
holds the lock while it writes into DIR; a second process on the same DIR is refused in one line
naming the holder, or waits for it with `--wait`. Ray tasks write only their own run
directories, under their driver's lock.

The lock file is created by a hard link of a fully written temporary file, which either creates
the name or fails because it exists, atomically, also on NFS and other file systems shared by
several hosts (where `flock` alone is not reliable). A lock whose holder ran on this host and is
no longer alive (killed, crashed) is stale: it is taken over, with a warning. A lock held from
another host cannot be checked from here and is always respected; remove `DIR/.lock` by hand
if that host is gone. Object-store workdirs (gs://...) have no atomic create and are not locked.
"""
from collections.abc import Iterator
import contextlib
import datetime
import json
import os
import socket
import time
from typing import Any

from absl import logging

from jaxrobust.errors import UserError

LOCK_FILE = '.lock'
POLL_SECONDS = 2.0


class WorkdirLockedError(UserError):
  """Another live process holds the workdir's lock."""


def _holder_record() -> dict[str, Any]:
  return {'host': socket.gethostname(), 'pid': os.getpid(),
          'since': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}


def _read(path: str) -> dict[str, Any] | None:
  """The holder recorded in the lock file; None when there is none (or it is unreadable)."""
  try:
    with open(path) as f:
      return json.load(f)
  except (OSError, ValueError):
    return None


def _describe(holder: dict[str, Any] | None) -> str:
  if not holder:
    return 'an unknown process'
  return f'pid {holder.get("pid")} on {holder.get("host")} since {holder.get("since")}'


def _alive_here(holder: dict[str, Any] | None) -> bool:
  """False only when `holder` ran on this host and its process no longer exists."""
  if not holder or holder.get('host') != socket.gethostname():
    return True
  try:
    os.kill(int(holder['pid']), 0)
  except ProcessLookupError:
    return False
  except (PermissionError, KeyError, TypeError, ValueError):
    return True
  return True


def _try_create(path: str, record: dict[str, Any]) -> bool:
  """Creates `path` holding `record` unless it exists (atomic, also across hosts)."""
  tmp = f'{path}.{record["host"]}.{record["pid"]}.tmp'
  with open(tmp, 'w') as f:
    json.dump(record, f)
  try:
    os.link(tmp, path)
    return True
  except FileExistsError:
    return False
  finally:
    os.unlink(tmp)


def _create_or_refuse(workdir: str, path: str, record: dict[str, Any]) -> bool:
  """`_try_create` in a created `workdir`; a workdir that cannot be written is a UserError."""
  try:
    os.makedirs(workdir, exist_ok=True)
    return _try_create(path, record)
  except OSError as e:  # read-only file system, no permission, a file in the way, disk full
    raise UserError(f'Cannot write to the workdir {workdir} ({e.strerror or e}); give a '
                    '--workdir you can write to.') from None


def _take_over_stale(path: str, stale: dict[str, Any]) -> None:
  """Removes the lock of a dead holder, unless another process replaced it meanwhile."""
  aside = f'{path}.stale.{os.getpid()}'
  try:
    os.rename(path, aside)
  except FileNotFoundError:
    return  # someone else took it over first
  if _read(aside) == stale:
    os.unlink(aside)
    logging.warning('Workdir lock %s was held by %s, which is no longer running; taking it '
                    'over.', path, _describe(stale))
    return
  with contextlib.suppress(FileExistsError):  # a live lock moved by mistake: put it back
    os.link(aside, path)
  os.unlink(aside)


def acquire(workdir: str, *, wait: bool = False) -> dict[str, Any]:
  """Takes DIR/.lock (creating DIR); returns this process's holder record.

  Raises WorkdirLockedError naming the holder unless `wait`, which polls until it is free.
  """
  path = os.path.join(workdir, LOCK_FILE)
  record = _holder_record()
  announced = False
  while not _create_or_refuse(workdir, path, record):
    holder = _read(path)
    if holder is not None and not _alive_here(holder):
      _take_over_stale(path, holder)
      continue
    if not wait:
      raise WorkdirLockedError(
          f'{workdir} is in use by {_describe(holder)} ({path}); wait for it to finish, rerun '
          'with --wait to queue behind it, or give another --workdir.')
    if not announced:
      logging.warning('Waiting for %s to release %s.', _describe(holder), path)
      announced = True
    time.sleep(POLL_SECONDS)
  return record


def release(workdir: str, record: dict[str, Any]) -> None:
  """Removes DIR/.lock if it is still the one `record` holds."""
  path = os.path.join(workdir, LOCK_FILE)
  if _read(path) == record:
    with contextlib.suppress(FileNotFoundError):
      os.unlink(path)


@contextlib.contextmanager
def held(workdir: str, *, wait: bool = False) -> Iterator[None]:
  """Holds DIR's lock for the block, released on every exit path (object stores: no lock)."""
  if '://' in workdir:
    yield
    return
  record = acquire(workdir, wait=wait)
  try:
    yield
  finally:
    release(workdir, record)
