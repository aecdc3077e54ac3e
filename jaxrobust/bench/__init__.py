"""Benchmarks: `python -m jaxrobust.bench <name> [--json]` (one module per benchmark)."""
from collections.abc import Callable
import json
import time


def print_figures(title: str, figures: dict, as_json: bool) -> None:
  """The figures as a titled `key value` table, then (with --json) as one JSON line."""
  print(title)
  for key, value in figures.items():
    print(f'  {key:<24} {value}')
  if as_json:
    print(json.dumps(figures))


def steady_images_per_second(next_batch: Callable[[], object], *, batch_size: int,
                             batches: int) -> float:
  """images/s of the second `batches` of 2 x `batches` calls of `next_batch`.

  The first half is not timed: it waits out start-up (grain workers import first) and
  drains what a pipeline prefetched meanwhile, so every pipeline is timed in steady state.
  """
  for _ in range(batches):
    next_batch()
  start = time.perf_counter()
  for _ in range(batches):
    next_batch()
  return batches * batch_size / (time.perf_counter() - start)
