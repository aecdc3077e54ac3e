"""What the runs of one process may share: compiled programs and decoded small splits.

Both are pure speed-ups: a run gets the same programs and pixels it would have built itself,
so its numbers do not change. The study runner keeps one `EngineCache` for all the runs of its
process; a run called without one gets a fresh cache and shares nothing.
"""
import dataclasses

from jaxrobust.input.decoded_cache import DecodedSplits
from jaxrobust.train.programs import ProgramCache


@dataclasses.dataclass
class EngineCache:
  """Compiled programs (model initializers, steps) and decoded splits, shared across runs."""
  programs: ProgramCache = dataclasses.field(default_factory=ProgramCache)
  decoded_splits: DecodedSplits = dataclasses.field(default_factory=DecodedSplits)
