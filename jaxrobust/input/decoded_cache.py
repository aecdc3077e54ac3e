"""Decoded images of small splits kept in memory, shared by the runs that hold one cache.

A split whose preprocessing decodes deterministically (evaluation, and training with a plain
resize) gives the same pixels every epoch, every evaluation and every run of a study, yet
decoding a 32 px JPEG through TFDS, grain and PIL costs more CPU than the tiny models'
training step on it. `DecodedSplits.get(source, transform, key, budget_mb)` wraps such a split in a
`DecodedSplit` that decodes each record on first access and then hands out the array (like
big_vision's `cache_final` for evaluators). The pixels are the same bytes, so results do
not change. An evaluation also keeps the split's batches (`DecodedSplit.memo`, used by
jaxrobust.train.evaluate), so eval splits count twice against the budget. Splits whose decoded
size exceeds the budget (`config.data.cache_decoded_mb`;
ImageNet-sized ones at any budget that fits a host) are read as before.
"""
from collections import OrderedDict
from collections.abc import Callable
import threading
from typing import Any

from jaxrobust.input import preprocess

Transform = preprocess.TrainPreprocess | preprocess.EvalPreprocess


class DecodedSplit:
  """`source` with each record's image decoded by `transform.decode` once, then reused."""

  def __init__(self, source: Any, transform: Transform):
    self._source, self._transform = source, transform
    self._records: dict[int, dict[str, Any]] = {}
    self._memo: dict[Any, Any] = {}

  def __len__(self) -> int:
    return len(self._source)

  def __getitem__(self, index: int) -> dict[str, Any]:
    record = self._records.get(index)
    if record is None:  # two reader threads may both decode it: same bytes, no harm
      features = dict(self._source[index])
      features[self._transform.image_key] = self._transform.decode(features)
      record = self._records[index] = features
    return record

  def memo(self, key: Any, build: Callable[[], Any]) -> Any:
    """`build()`'s value, computed once per `key` for this split (e.g. its eval batches)."""
    if key not in self._memo:
      self._memo[key] = build()
    return self._memo[key]


def decoded_bytes(num_examples: int, image_size: int) -> int:
  """Memory of a split's decoded uint8 RGB images."""
  return num_examples * image_size * image_size * 3


class DecodedSplits:
  """The decoded splits of one engine cache, the least recently used dropped to fit a budget."""

  def __init__(self):
    self._splits: 'OrderedDict[tuple, tuple[DecodedSplit, int]]' = OrderedDict()
    self._lock = threading.Lock()

  def get(self, source: Any, transform: Transform, key: tuple, budget_mb: float) -> Any:
    """`source` as a (shared) `DecodedSplit`, or unchanged when caching does not apply.

    `key` names the split (e.g. its dataset directory and split name); the transform's
    decode settings are added to it. Applies when the decode is deterministic and the split's
    decoded images fit in `budget_mb`; the least recently used splits are dropped to make room.
    """
    size = decoded_bytes(len(source), transform.image_size)
    if isinstance(transform, preprocess.EvalPreprocess):
      size *= 2  # the evaluation keeps the split's batches too (jaxrobust.train.evaluate)
    budget = budget_mb * 2**20
    if not transform.deterministic_decode or size > budget:
      return source
    key = (*key, type(transform).__name__, transform.image_size, transform.mode,
           transform.image_key)
    with self._lock:
      if key in self._splits:
        self._splits.move_to_end(key)
        return self._splits[key][0]
      while self._splits and sum(s for _, s in self._splits.values()) + size > budget:
        self._splits.popitem(last=False)
      split = self._splits[key] = (DecodedSplit(source, transform), size)
      return split[0]
