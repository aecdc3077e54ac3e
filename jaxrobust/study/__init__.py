"""Studies: a study config -> planned runs -> data -> the engine -> result.json -> report.

  plan.py      study config -> ordered PlannedRuns (ids, identity hashes); datasets_needed(plan)
  runner.py    run_study: skip finished runs, resume started ones, then results.csv + report;
               the local executor (one run after another)
  stages.py    what every executor does: prepare the datasets, execute one run
  ray_executor.py  the Ray executor: one Ray task per run (imports ray; loaded with --executor=ray)
  prepare.py   builds the datasets a plan reads (generated, manual, subsets)
  execute.py   one run through the engine with its result writer (imports jax; loaded to train)
  results.py   predictions_<split>.npz + result.json; ID/OOD splits of each target dataset
  report.py    results.csv and the analysis report at the end of a study
  state.py, datasets.py, progress.py, console.py   run state, data on disk, progress, tables
"""
from jaxrobust.study.plan import datasets_needed
from jaxrobust.study.plan import plan_study
from jaxrobust.study.plan import PlannedRun
from jaxrobust.study.plan import select_runs
from jaxrobust.study.runner import EXECUTORS
from jaxrobust.study.runner import run_study

__all__ = ['EXECUTORS', 'PlannedRun', 'datasets_needed', 'plan_study', 'run_study', 'select_runs']
