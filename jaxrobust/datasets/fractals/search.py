"""FractalDB category search: random IFS systems accepted by their fill rate."""
import dataclasses

import numpy as np
import tqdm.auto as tqdm
from jax.sharding import Mesh

from jaxrobust.datasets.fractals import ifs, render

# Category slot of the render keys used while searching (real categories are smaller).
SEARCH_STREAM = 2**31 - 1


@dataclasses.dataclass(frozen=True)
class SearchSettings:
  """Kataoka et al.'s search: 100k single-pixel points at 512 px, accept fill rate >= 0.2."""
  fill_threshold: float = 0.2
  min_maps: int = 2
  max_maps: int = 7
  num_points: int = 100_000
  image_size: int = 512
  num_chains: int = 1000
  batch_size: int = 256


@dataclasses.dataclass(frozen=True)
class Systems:
  """Accepted systems: coeffs (N, max_maps, 6), probs (N, max_maps), their fill rates (N,)
  and the search candidate ids (N,) whose render streams measured those rates."""
  coeffs: np.ndarray
  probs: np.ndarray
  fill_rates: np.ndarray
  search_ids: np.ndarray

  def __len__(self) -> int:
    return len(self.coeffs)

  def to_json(self) -> dict:
    """Plain lists, for dataset metadata."""
    return {k: v.tolist() for k, v in dataclasses.asdict(self).items()}

  @classmethod
  def from_json(cls, data: dict) -> 'Systems':
    """Inverse of `to_json`."""
    return cls(np.asarray(data['coeffs'], np.float32), np.asarray(data['probs'], np.float32),
               np.asarray(data['fill_rates'], np.float32),
               np.asarray(data['search_ids'], np.int64))

  @classmethod
  def from_accepted(cls, accepted: list[tuple[np.ndarray, np.ndarray, float, int]]) -> 'Systems':
    """Systems from (coeffs, probs, fill rate, search id) tuples."""
    coeffs, probs, rates, ids = zip(*accepted)
    return cls(np.stack(coeffs), np.stack(probs), np.asarray(rates, np.float32),
               np.asarray(ids, np.int64))


def measure_fill_rates(coeffs: np.ndarray, probs: np.ndarray, candidate_ids: np.ndarray,
                       seed: int, settings: SearchSettings, mesh: Mesh) -> np.ndarray:
  """Fill rates of a batch of candidate systems under the search settings."""
  ids = np.stack([np.full(len(candidate_ids), SEARCH_STREAM, np.int32),
                  candidate_ids.astype(np.int32)], axis=1)
  return render.run_sharded(
      render.fill_rates, mesh, coeffs, probs, ids, seed=seed, pad_to=settings.batch_size,
      num_points=settings.num_points, num_chains=settings.num_chains,
      size=settings.image_size)


def search_categories(num_categories: int, seed: int,
                      settings: SearchSettings = SearchSettings(),
                      mesh: Mesh | None = None) -> Systems:
  """The first `num_categories` random systems (in a seeded order) that pass the fill rate."""
  mesh = mesh or render.data_mesh()
  rng = np.random.default_rng(seed)
  accepted: list[tuple[np.ndarray, np.ndarray, float, int]] = []
  next_id = 0
  with tqdm.tqdm(total=num_categories, desc='FractalDB category search', unit='cat') as bar:
    while len(accepted) < num_categories:
      batch = [ifs.sample_system(rng, settings.min_maps, settings.max_maps)
               for _ in range(settings.batch_size)]
      coeffs = np.stack([c for c, _ in batch])
      probs = np.stack([p for _, p in batch])
      ids = np.arange(next_id, next_id + len(batch))
      next_id += len(batch)
      rates = measure_fill_rates(coeffs, probs, ids, seed, settings, mesh)
      for c, p, r, k in zip(coeffs, probs, rates, ids):
        if r >= settings.fill_threshold and len(accepted) < num_categories:
          accepted.append((c, p, float(r), int(k)))
          bar.update(1)
      bar.set_postfix(tried=next_id)
  return Systems.from_accepted(accepted)
