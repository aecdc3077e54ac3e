"""Datasets of jaxrobust; importing this package registers every TFDS builder."""
from jaxrobust.datasets.builders import camelyon17  # noqa: F401
from jaxrobust.datasets.builders import diffusion_imagenet  # noqa: F401
from jaxrobust.datasets.builders import fractal_hierarchy  # noqa: F401
from jaxrobust.datasets.builders import fractaldb  # noqa: F401
from jaxrobust.datasets.builders import inaturalist  # noqa: F401
from jaxrobust.datasets.builders import iwildcam  # noqa: F401
from jaxrobust.datasets.builders import synthetic_nature  # noqa: F401
from jaxrobust.datasets.builders import synthetic_wildcam  # noqa: F401
from jaxrobust.datasets.subsets import builder as subset_builder  # noqa: F401
