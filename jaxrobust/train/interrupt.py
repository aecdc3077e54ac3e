"""Stop training cleanly on SIGTERM / SIGINT or a JAX preemption notice.

A first signal asks the loop to finish its step, save a checkpoint and exit with
`EXIT_CODE`; a second one ends the process at once (the signal's default action). With
several processes JAX's own preemption service watches SIGTERM and picks the step at which
every host saves (`CheckpointManager.reached_preemption`); this module then leaves the
signals alone, since a signal reaching one host only would stop it alone.
"""
import os
import signal
import sys
import threading

from absl import logging
import jax
import orbax.checkpoint as ocp

EXIT_CODE = 75  # EX_TEMPFAIL: interrupted, rerun the same command to resume
SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Interrupted(SystemExit):
  """The run saved a checkpoint and stopped on request; exits the process with EXIT_CODE."""

  def __init__(self, message: str):
    super().__init__(EXIT_CODE)
    self.message = message


class StopRequest:
  """Whether the loop should stop after the current step; `install` catches the signals."""

  def __init__(self, manager: ocp.CheckpointManager):
    self._manager = manager
    self._previous = {}
    self.reason: str | None = None

  def install(self) -> 'StopRequest':
    """Catches SIGTERM/SIGINT (one process, main thread only) until `uninstall`."""
    if jax.process_count() == 1 and threading.current_thread() is threading.main_thread():
      self._previous = {s: signal.signal(s, self.handle) for s in SIGNALS}
    return self

  def uninstall(self) -> None:
    for signum, handler in self._previous.items():
      signal.signal(signum, handler)
    self._previous = {}

  def handle(self, signum: int, frame) -> None:
    """Signal handler: the first signal asks for a stop, the second kills the process."""
    del frame
    if self.reason is not None:
      signal.signal(signum, signal.SIG_DFL)
      os.kill(os.getpid(), signum)
    self.reason = signal.Signals(signum).name
    logging.warning('%s received: saving a checkpoint after this step, then stopping '
                    '(send it again to stop at once).', self.reason)

  def __call__(self, step: int) -> bool:
    """True when the run should save and stop after `step`."""
    if self.reason is None and self._manager.reached_preemption(step):
      self.reason = 'preemption notice'
    return self.reason is not None

  def exit(self, checkpoint_dir, step: int, num_steps: int) -> None:
    """Says where the run stopped and how to resume (one line), then raises Interrupted."""
    message = (f'{self.reason}: stopped after step {step} of {num_steps}; checkpoint saved in '
               f'{checkpoint_dir}/{step}. Rerun the same command to resume from it.')
    print(message, file=sys.stderr, flush=True)
    raise Interrupted(message)
