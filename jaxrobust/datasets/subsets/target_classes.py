"""A fine-tune benchmark's classes among a pre-training source's classes, known without data.

Known for the generated world: `synthetic_wildcam`'s classes are species of the fauna that
`synthetic_nature` photographs when both have the same seed and taxonomy
(`synthetic.fauna_indices`), and no other source holds them (fractals, diffusion images,
real photos). For a real benchmark (iWildCam-WILDS against ImageNet or iNaturalist) no
species are matched by name: unknown (None).
"""
from __future__ import annotations

import numpy as np
from tensorflow_datasets.core import naming

from jaxrobust.datasets import synthetic
from jaxrobust.datasets.builders import with_overrides
from jaxrobust.datasets.builders import synthetic_nature
from jaxrobust.datasets.builders import synthetic_wildcam
from jaxrobust.datasets.hierarchy import Hierarchy

# Sources that hold none of the generated benchmark's species.
_WITHOUT_GENERATED_SPECIES = ('fractaldb', 'fractal_hierarchy', 'diffusion_imagenet',
                              'imagenet2012', 'inaturalist')


def _parse(name: str) -> tuple[str, dict]:
  dataset, kwargs = naming.parse_builder_name_kwargs(name)
  kwargs.pop('version', None)
  return str(dataset), kwargs


def _config(builder, kwargs: dict):
  """The builder config of a parsed TFDS name (with its field overrides), building nothing."""
  config = builder.builder_configs[kwargs.pop('config', None) or builder.DEFAULT_CONFIG_NAME]
  return with_overrides(config, kwargs) if kwargs else config


def wildcam_config(benchmark: str) -> synthetic_wildcam.SyntheticWildcamConfig | None:
  """The config of a `synthetic_wildcam` benchmark; None for any other dataset."""
  dataset, kwargs = _parse(benchmark)
  if dataset != 'synthetic_wildcam':
    return None
  return _config(synthetic_wildcam.SyntheticWildcam, kwargs)


def num_classes(benchmark: str) -> int | None:
  """The benchmark's classes (`empty` not counted); None where not known."""
  config = wildcam_config(benchmark)
  return None if config is None else config.num_classes


def nature_config(source: str) -> synthetic_nature.SyntheticNatureConfig | None:
  """The config of a `synthetic_nature` source; None for any other source."""
  dataset, kwargs = _parse(source)
  if dataset != 'synthetic_nature':
    return None
  return _config(synthetic_nature.SyntheticNature, kwargs)


def nature_classes(config: synthetic_nature.SyntheticNatureConfig,
                   split: str) -> tuple[np.ndarray, Hierarchy]:
  """(images per fine class of `split`, hierarchy) of a `synthetic_nature` config."""
  return synthetic_nature.class_sizes(config, split), synthetic_nature.build_hierarchy(config)


def classes_in_source(source: str, benchmark: str) -> np.ndarray | None:
  """Fine class ids of `source` that are classes of `benchmark`; None where not known."""
  wildcam = wildcam_config(benchmark)
  if wildcam is None:
    return None
  nature = nature_config(source)
  if nature is None:
    held_by_none = _parse(source)[0] in _WITHOUT_GENERATED_SPECIES
    return np.zeros(0, np.int64) if held_by_none else None
  same_fauna = ((tuple(wildcam.fauna_branching), wildcam.fauna_animal_orders, wildcam.seed)
                == (tuple(nature.branching), nature.animal_orders, nature.seed))
  if not same_fauna:  # another taxonomy or seed draws other species
    return np.zeros(0, np.int64)
  return np.sort(synthetic.fauna_indices(wildcam.world_settings())).astype(np.int64)
