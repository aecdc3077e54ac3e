"""One progress line across a study: runs done of total, running, failed, elapsed time, ETA."""
from collections.abc import Callable, Sequence
import time

from jaxrobust.study import datasets
from jaxrobust.study import plan as plan_lib
from jaxrobust.study.plan import PlannedRun


def _known_steps(run: PlannedRun) -> int | None:
  """The run's steps; a plan made before its data was built learns them from the data dir."""
  if run.steps is not None:
    return run.steps
  data = run.config.data
  return plan_lib.planned_steps(
      run.config, datasets.train_examples(data.name, data.data_dir, data.train_split))


# A training image costs a forward and a backward pass, about 3 forward passes.
_TRAIN_IMAGE_COST = 3.0


def _planned_work(run: PlannedRun, steps: int | None) -> float | None:
  """The images `run` pushes through its model, in forward passes: training + evaluations.

  Evaluations matter: a fine-tune scores its eval splits every `eval_every_epochs`, which on a
  small benchmark costs as much as its training. Every evaluation is counted as scoring every
  split (an upper bound where the test splits wait for a new best on the selection splits).
  """
  if not steps:
    return None
  config, data = run.config, run.config.data
  work = _TRAIN_IMAGE_COST * steps * config.batch_size
  split_sizes = [datasets.train_examples(data.name, data.data_dir, split) or 0
                 for split in data.get('eval_splits', ())]
  if sum(split_sizes):
    evaluations = 1
    every = config.get('eval_every_epochs')
    train_size = datasets.train_examples(data.name, data.data_dir, data.train_split)
    if every and train_size:
      steps_per_epoch = max(1, train_size // config.batch_size)
      evaluations += (steps - 1) // max(1, round(every * steps_per_epoch))
    work += evaluations * sum(split_sizes)
  return work


class StudyProgress:
  """Counts runs of a study slice and estimates the time left from the runs executed so far.

  Each remaining run is estimated as its planned work (`_planned_work`: training and evaluation
  images) at the seconds per unit of work of the latest finished run of the same kind, else of
  the latest finished run; a run whose steps are unknown counts as the mean finished run. The
  latest run, not the mean, because the first runs also pay for compilations that later runs
  find in the cache. Runs executed side by side (the Ray executor reports them with `started`)
  divide the time left by how many run at once.
  """

  def __init__(self, runs: Sequence[PlannedRun], done: set[str],
               clock: Callable[[], float] = time.monotonic):
    self._runs = list(runs)
    self._done = set(done) & {r.run_id for r in self._runs}
    self._skipped = len(self._done)
    self._work = {r.run_id: _planned_work(r, _known_steps(r))
                  for r in self._runs if r.run_id not in self._done}
    self._clock = clock
    self._start = clock()
    self._measured: list[tuple[PlannedRun, float]] = []
    self.running: dict[str, str] = {}  # run id -> where it runs
    self.failures: dict[str, str] = {}  # run id -> its error

  def started(self, run_id: str, where: str) -> None:
    """Records that the run `run_id` runs (again) at `where`."""
    self.running[run_id] = where

  def finished(self, run: PlannedRun, seconds: float) -> None:
    """Records that `run` was executed and took `seconds`."""
    self.running.pop(run.run_id, None)
    self._done.add(run.run_id)
    self._measured.append((run, seconds))

  def failed(self, run: PlannedRun, error: str) -> None:
    """Records that `run` failed with `error`; it is not waited for."""
    self.running.pop(run.run_id, None)
    self.failures[run.run_id] = error

  @property
  def done(self) -> int:
    return len(self._done)

  def eta_seconds(self) -> float | None:
    """Estimated seconds to finish the remaining runs; None before any run was measured."""
    if self.done + len(self.failures) == len(self._runs):
      return 0.0
    if not self._measured:
      return None
    per_unit = {}  # kind -> seconds per unit of work of its latest timed run; None -> any kind
    for run, seconds in self._measured:
      work = self._work.get(run.run_id)
      if work:
        per_unit[run.kind] = per_unit[None] = seconds / work
    mean_run = sum(s for _, s in self._measured) / len(self._measured)
    eta = 0.0
    for run in self._runs:
      if run.run_id in self._done or run.run_id in self.failures:
        continue
      work = self._work[run.run_id]
      rate = per_unit.get(run.kind, per_unit.get(None))
      eta += work * rate if work and rate is not None else mean_run
    return eta / max(1, len(self.running))

  def line(self) -> str:
    """'study: 7/18 runs done (5 skipped) | 2 running | 1 failed | elapsed 3m10s | ETA 5m02s'.

    The running and failed counts appear when there are any.
    """
    eta = self.eta_seconds()
    parts = [f'study: {self.done}/{len(self._runs)} runs done ({self._skipped} skipped)']
    if self.running:
      parts.append(f'{len(self.running)} running')
    if self.failures:
      parts.append(f'{len(self.failures)} failed')
    parts += [f'elapsed {format_seconds(self._clock() - self._start)}',
              f'ETA {"?" if eta is None else format_seconds(eta)}']
    return ' | '.join(parts)


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
