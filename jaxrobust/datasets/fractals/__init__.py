"""FractalDB in JAX: IFS systems, category search, vectorized rendering, instances."""
from jaxrobust.datasets.fractals.ifs import instance_plan, perturb, sample_system
from jaxrobust.datasets.fractals.instances import RenderSettings, render_instances
from jaxrobust.datasets.fractals.render import data_mesh, render_images
from jaxrobust.datasets.fractals.search import SearchSettings, Systems, search_categories
