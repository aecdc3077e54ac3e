"""FractalDB in JAX: IFS systems, category search, vectorized rendering, instances."""
from jaxrobust.data.fractals.ifs import instance_plan, perturb, sample_system
from jaxrobust.data.fractals.instances import RenderSettings, render_instances
from jaxrobust.data.fractals.render import data_mesh, render_images
from jaxrobust.data.fractals.search import SearchSettings, Systems, search_categories
