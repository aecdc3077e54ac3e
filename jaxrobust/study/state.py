"""Where each planned run stands on disk: finished, started (resumable) or not started."""
import json
import os
import time
from typing import Any

from jaxrobust.study.plan import PlannedRun

FINISHED_MARKER = 'finished.json'
CHECKPOINT_DIR = 'checkpoints'  # the engine's (jaxrobust.train.checkpoint), read without orbax


def run_state(run: PlannedRun, workdir: str) -> str:
  """'finished' (marker with this identity hash), 'started' (run dir exists) or 'pending'."""
  run_dir = run.run_dir(workdir)
  marker = os.path.join(run_dir, FINISHED_MARKER)
  if os.path.exists(marker):
    with open(marker) as f:
      if json.load(f).get('identity_hash') == run.identity_hash:
        return 'finished'
  return 'started' if os.path.isdir(run_dir) else 'pending'


def checkpoint_step(run: PlannedRun, workdir: str) -> int | None:
  """The newest saved checkpoint step of the run, None when it has none (it starts at 0)."""
  path = os.path.join(run.run_dir(workdir), CHECKPOINT_DIR)
  steps = [int(name) for name in os.listdir(path) if name.isdigit()] if os.path.isdir(
      path) else []
  return max(steps, default=None)


def mark_finished(run: PlannedRun, workdir: str, wall_seconds: float,
                  summary: dict[str, Any]) -> None:
  """Writes DIR/runs/<id>/finished.json; its presence makes the run skipped next time."""
  marker = os.path.join(run.run_dir(workdir), FINISHED_MARKER)
  record = {'run_id': run.run_id, 'kind': run.kind, 'setting': run.setting,
            'identity_hash': run.identity_hash, 'wall_seconds': round(wall_seconds, 3),
            'finished_at': time.strftime('%Y-%m-%dT%H:%M:%S'), 'summary': _jsonable(summary or {})}
  tmp = marker + '.tmp'
  with open(tmp, 'w') as f:
    json.dump(record, f, indent=1)
  os.replace(tmp, marker)  # atomic: a kill never leaves a half-written marker


def _jsonable(value: Any) -> Any:
  """Metrics (numpy/jax scalars included) as plain JSON values."""
  if isinstance(value, dict):
    return {str(k): _jsonable(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_jsonable(v) for v in value]
  if isinstance(value, (str, bool)) or value is None:
    return value
  try:
    return float(value)
  except (TypeError, ValueError):
    return str(value)
