"""Hierarchical fractal classes: children are fill-rate-checked perturbations of their parent."""
import numpy as np
import tqdm.auto as tqdm
from jax.sharding import Mesh

from jaxrobust.datasets.fractals import ifs, render
from jaxrobust.datasets.fractals.search import SearchSettings, Systems, measure_fill_rates

# Candidate ids of child searches start here, per level, apart from the root search's.
_LEVEL_STREAM = 100_000_000
MAX_ROUNDS = 200


def grow_level(parents: Systems, children_per_parent: int, noise: float, seed: int,
               level: int, settings: SearchSettings, mesh: Mesh) -> Systems:
  """`children_per_parent` systems per parent (parent-major order), each the parent's
  coefficients plus Gaussian noise of std `noise`, accepted at the fill-rate threshold."""
  rng = np.random.default_rng([seed, 7, level])
  needed = len(parents) * children_per_parent
  slots: list[tuple[np.ndarray, np.ndarray, float, int] | None] = [None] * needed
  next_id = level * _LEVEL_STREAM
  with tqdm.tqdm(total=needed, desc=f'Fractal hierarchy level {level + 1}', unit='cls') as bar:
    for _ in range(MAX_ROUNDS):
      open_slots = [s for s, v in enumerate(slots) if v is None]
      if not open_slots:
        break
      # A full batch every round (one compiled shape): open slots repeat as needed.
      tries = np.resize(np.asarray(open_slots), max(settings.batch_size, len(open_slots)))
      owner = tries // children_per_parent
      used = parents.probs[owner] > 0
      coeffs = (parents.coeffs[owner]
                + noise * rng.standard_normal(parents.coeffs[owner].shape) * used[..., None])
      coeffs = coeffs.astype(np.float32)
      probs = ifs.map_probabilities(coeffs)  # unused rows stay all-zero, so probability 0
      ids = np.arange(next_id, next_id + len(tries))
      next_id += len(tries)
      rates = measure_fill_rates(coeffs, probs, ids, seed, settings, mesh)
      for slot, c, p, r, k in zip(tries, coeffs, probs, rates, ids):
        if slots[slot] is None and r >= settings.fill_threshold:
          slots[slot] = (c, p, float(r), int(k))
          bar.update(1)
  if any(v is None for v in slots):
    raise RuntimeError(
        f'level {level + 1}: {sum(v is None for v in slots)} child systems missed the fill rate '
        f'{settings.fill_threshold} after {MAX_ROUNDS} tries; lower the config field '
        f'child_noise (now {noise}) or fill_threshold.')
  return Systems.from_accepted(slots)


def grow_tree(roots: Systems, branching: tuple[int, ...], child_noise: tuple[float, ...],
              seed: int, settings: SearchSettings, mesh: Mesh | None = None) -> list[Systems]:
  """Systems of every level, coarse to fine; level k+1 has branching[k+1] children per node."""
  if len(child_noise) != len(branching) - 1:
    raise ValueError(f'child_noise needs one entry per level below the roots '
                     f'({len(branching) - 1}), got {len(child_noise)}.')
  mesh = mesh or render.data_mesh()
  levels = [roots]
  for level, (count, noise) in enumerate(zip(branching[1:], child_noise), start=1):
    levels.append(grow_level(levels[-1], count, noise, seed, level, settings, mesh))
  return levels


def ancestor_ids(branching: tuple[int, ...]) -> list[np.ndarray]:
  """For each level (coarse to fine), the id at that level of every finest class."""
  fine = np.arange(int(np.prod(branching)))
  return [fine // int(np.prod(branching[k + 1:])) for k in range(len(branching))]
