"""One progress line across a study: runs done of total, elapsed time, ETA."""
from collections.abc import Callable, Sequence
import time

from jaxrobust.study.plan import PlannedRun


class StudyProgress:
  """Counts runs of a study slice and estimates the time left from the runs executed so far.

  The ETA scales each remaining run by its steps, at the seconds per step measured on runs of the
  same kind (fine-tunes at 448 px cost more per step than pre-training at 224 px); runs whose
  steps are unknown count as the mean measured run.
  """

  def __init__(self, runs: Sequence[PlannedRun], done: set[str],
               clock: Callable[[], float] = time.monotonic):
    self._runs = list(runs)
    self._done = set(done) & {r.run_id for r in self._runs}
    self._skipped = len(self._done)
    self._clock = clock
    self._start = clock()
    self._measured: list[tuple[PlannedRun, float]] = []

  def finished(self, run: PlannedRun, seconds: float) -> None:
    """Records that `run` was executed and took `seconds`."""
    self._done.add(run.run_id)
    self._measured.append((run, seconds))

  @property
  def done(self) -> int:
    return len(self._done)

  def eta_seconds(self) -> float | None:
    """Estimated seconds to finish the remaining runs; None before any run was measured."""
    if self.done == len(self._runs):
      return 0.0
    if not self._measured:
      return None
    mean_run = sum(s for _, s in self._measured) / len(self._measured)
    per_step = {}
    for kind in {r.kind for r, _ in self._measured}:
      timed = [(r.steps, s) for r, s in self._measured if r.kind == kind and r.steps]
      if timed:
        per_step[kind] = sum(s for _, s in timed) / sum(n for n, _ in timed)
    eta = 0.0
    for run in self._runs:
      if run.run_id in self._done:
        continue
      if run.steps and run.kind in per_step:
        eta += run.steps * per_step[run.kind]
      else:
        eta += mean_run
    return eta

  def line(self) -> str:
    """'study: 7/18 runs done (5 skipped) | elapsed 3m10s | ETA 5m02s'."""
    eta = self.eta_seconds()
    return (f'study: {self.done}/{len(self._runs)} runs done ({self._skipped} skipped) | '
            f'elapsed {format_seconds(self._clock() - self._start)} | '
            f'ETA {"?" if eta is None else format_seconds(eta)}')


def format_seconds(seconds: float) -> str:
  """1h02m, 3m10s or 42s."""
  seconds = int(round(seconds))
  h, rem = divmod(seconds, 3600)
  m, s = divmod(rem, 60)
  if h:
    return f'{h}h{m:02d}m'
  if m:
    return f'{m}m{s:02d}s'
  return f'{s}s'
