"""Build every dataset a study reads: generated sources, manual ones, then subsets.

`prepare_study(study_config, data_dir)` runs on a cheap CPU machine before accelerator
time; it plans the study and builds what the plan reads and is missing
(`plan.datasets_needed(plan)`), through jaxrobust.datasets.build.
"""
from typing import Any

from jaxrobust.datasets import build
from jaxrobust.study import plan as plan_lib


def prepare_study(study_config: Any, data_dir: str | None,
                  manual_dir: str | None = None) -> list[build.Built]:
  """Builds every generated source and subset the study `study_config` reads."""
  plan = plan_lib.plan_study(study_config)
  return build.build_datasets(plan_lib.datasets_needed(plan), data_dir, manual_dir)
