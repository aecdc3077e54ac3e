"""Subsets: the five pre-training data properties as TFDS datasets.

Public API (the study runner calls these):
  subset_name(spec) -> 'subset/<readable>_<hash>'   (reads no data)
  label_key(spec) -> the label feature to train on
  materialize(spec, data_dir) -> TFDS name         (idempotent)
  recreate(manifest, data_dir) -> TFDS name        (from the manifest alone)
  describe(name, data_dir) -> summary text
"""
from jaxrobust.data.subsets.materializer import is_materialized
from jaxrobust.data.subsets.materializer import materialize
from jaxrobust.data.subsets.materializer import read_manifest
from jaxrobust.data.subsets.materializer import recreate
from jaxrobust.data.subsets.materializer import subset_dir
from jaxrobust.data.subsets.spec import as_spec
from jaxrobust.data.subsets.spec import Diversity
from jaxrobust.data.subsets.spec import label_key
from jaxrobust.data.subsets.spec import Source
from jaxrobust.data.subsets.spec import subset_name
from jaxrobust.data.subsets.spec import SubsetSpec
from jaxrobust.data.subsets.summary import describe
