"""`python -m jaxrobust.bench <name> [args]`: runs the benchmark module jaxrobust/bench/<name>.py.

A benchmark is any module here with `main(argv: Sequence[str]) -> None` that prints a
readable table and, with `--json`, ends with one JSON line of its figures.
"""
import importlib
import pkgutil
import sys

import jaxrobust.bench
from jaxrobust import xla_flags


def benchmark_names() -> list[str]:
  """The benchmarks available (modules of this package)."""
  return sorted(m.name for m in pkgutil.iter_modules(jaxrobust.bench.__path__)
                if not m.name.startswith('_'))


def main(argv: list[str]) -> None:
  names = benchmark_names()
  if not argv or argv[0] not in names:
    sys.exit(f'usage: python -m jaxrobust.bench <name> [--json] [...]; names: {", ".join(names)}')
  xla_flags.use_tuned_cpu_flags()  # what `python -m jaxrobust.main` runs with
  importlib.import_module(f'jaxrobust.bench.{argv[0]}').main(argv[1:])


if __name__ == '__main__':
  main(sys.argv[1:])
