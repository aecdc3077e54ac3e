"""Benchmarks: `python -m jaxrobust.bench <name> [--json]` (one module per benchmark)."""
import json


def print_figures(title: str, figures: dict, as_json: bool) -> None:
  """The figures as a titled `key value` table, then (with --json) as one JSON line."""
  print(title)
  for key, value in figures.items():
    print(f'  {key:<24} {value}')
  if as_json:
    print(json.dumps(figures))
