"""Synthetic camera-trap benchmark with iWildCam's schema and location shift."""
from jaxrobust.datasets.synthetic.wildcam import (
    SPLITS, Frame, World, WorldSettings, build_world, fauna_indices, plan_split, render_frame)
