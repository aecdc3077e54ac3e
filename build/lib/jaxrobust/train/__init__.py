"""The training engine: one loop (loop.train_and_evaluate) for every kind of run.

It knows a run config and a run directory, nothing above them (no study, subsets or analysis
report code). Import its modules directly (`from jaxrobust.train import loop`): this package
imports nothing, so `jaxrobust.train.mesh` loads without flax, orbax or grain.
"""
