"""What one engine call returns (jax-free, so study code and its test doubles share it)."""
import dataclasses
from typing import Any

from etils import epath
import numpy as np

Scores = dict[str, dict[str, float]]  # {split: {accuracy, macro_f1, num_examples}}


@dataclasses.dataclass(frozen=True)
class RunResult:
  """The final evaluation of a run, and how it got there. Identical on every process."""
  run_dir: epath.Path
  step: int                                      # the last step trained (== num_train_steps)
  num_train_steps: int
  train_loss: float | None                       # mean over the last logged interval
  scores: Scores                                 # of the final model
  outputs: dict[str, dict[str, np.ndarray]]      # {split: {labels, predictions[, logits]}}
  wall_seconds: float                            # of this engine call

  def summary(self) -> dict[str, Any]:
    """The JSON-able figures a study keeps in its finished marker."""
    return {'step': self.step, 'train_loss': self.train_loss, 'scores': self.scores,
            'wall_seconds': self.wall_seconds}
