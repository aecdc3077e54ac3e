"""Benchmarks: `python -m jaxrobust.bench <name> [--json]` (one module per benchmark)."""
