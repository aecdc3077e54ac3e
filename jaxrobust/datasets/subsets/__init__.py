"""Subsets: the five pre-training data properties as TFDS datasets.

Public API (the study runner calls these):
  subset_name(spec) -> 'subset/<readable>_<hash>'   (reads no data)
  label_key(spec) -> the label feature to train on
  materialize(spec, data_dir) -> TFDS name         (idempotent)
  recreate(manifest, data_dir) -> TFDS name        (from the manifest alone)
  describe(name, data_dir) -> summary text
  benchmark_coverage(spec, benchmark) -> how many of a benchmark's classes it includes
"""
from jaxrobust.datasets.subsets.coverage import benchmark_coverage
from jaxrobust.datasets.subsets.coverage import Coverage
from jaxrobust.datasets.subsets.materializer import is_materialized
from jaxrobust.datasets.subsets.materializer import materialize
from jaxrobust.datasets.subsets.materializer import read_manifest
from jaxrobust.datasets.subsets.materializer import recreate
from jaxrobust.datasets.subsets.materializer import subset_dir
from jaxrobust.datasets.subsets.spec import as_spec
from jaxrobust.datasets.subsets.spec import Diversity
from jaxrobust.datasets.subsets.spec import label_key
from jaxrobust.datasets.subsets.spec import Source
from jaxrobust.datasets.subsets.spec import subset_name
from jaxrobust.datasets.subsets.spec import SubsetSpec
from jaxrobust.datasets.subsets.summary import describe
