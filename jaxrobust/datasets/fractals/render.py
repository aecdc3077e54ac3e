"""JAX rendering of IFS fractals: chaos game, rasterization, patches, flips.

One image runs `num_chains` chaos-game chains side by side (`lax.scan` over
iterations, vectorized over chains); a batch of images is split over the devices of
a `data` mesh axis (`shard_map`); a CPU device loops over its images (`lax.map`, which
keeps each image's pixel grid in cache), an accelerator renders them all at once
(`vmap`). Everything is jit-compiled.
Randomness comes from (seed, category, instance), so an image does not depend on the
batch or device it was rendered on.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

# FractalDB draws points inside a 6-pixel margin.
PAD = 6
# Dropped iterations at the start of each chain (the start point is not on the attractor).
BURN_IN = 8


def _hash32(x: jax.Array) -> jax.Array:
  """A well-mixed uint32 hash (MurmurHash3's finalizer): a cheap counter-based RNG."""
  x = x ^ (x >> 16)
  x = x * jnp.uint32(0x85EBCA6B)
  x = x ^ (x >> 13)
  x = x * jnp.uint32(0xC2B2AE35)
  return x ^ (x >> 16)


def chaos_game(coeffs: jax.Array, probs: jax.Array, stream: jax.Array, *,
               num_points: int, num_chains: int) -> jax.Array:
  """(num_points, 2) points of one IFS attractor from `num_chains` parallel chains.

  `stream` (uint32) seeds the map choices: step t of chain k draws
  hash(hash(k, stream) ^ t) — far cheaper per point than threefry on CPU.
  """
  steps = -(-num_points // num_chains) + BURN_IN
  cum = jnp.cumsum(probs)
  last_map = jnp.sum(probs > 0) - 1
  lanes = _hash32(jnp.arange(num_chains, dtype=jnp.uint32) * jnp.uint32(0x9E3779B9) + stream)

  def step(xy, t):
    bits = _hash32(lanes ^ (t.astype(jnp.uint32) * jnp.uint32(0x27D4EB2F)))
    u = (bits >> 8).astype(jnp.float32) * (1.0 / (1 << 24))
    m = jnp.minimum(jnp.sum(u[:, None] * cum[-1] >= cum[None, :], axis=-1), last_map)
    # Selects instead of a gather: much faster on CPU for a handful of maps.
    a, b, c, d, e, f = [jnp.broadcast_to(coeffs[0, k], m.shape) for k in range(6)]
    for j in range(1, coeffs.shape[0]):
      pick = m == j
      a, b, c, d, e, f = [jnp.where(pick, coeffs[j, k], v)
                          for k, v in enumerate((a, b, c, d, e, f))]
    x, y = xy
    new = (a * x + b * y + e, c * x + d * y + f)
    return new, jnp.stack(new, axis=-1)

  start = (jnp.zeros(num_chains), jnp.zeros(num_chains))
  _, points = jax.lax.scan(step, start, jnp.arange(steps))
  return points[BURN_IN:].reshape(-1, 2)[:num_points]


def last_hits(points: jax.Array, size: int, pad: int = PAD) -> jax.Array:
  """(size, size) int32: index of the last point landing on each pixel, -1 where none.

  Points are min-max normalised into [pad, size - 1 - pad]; non-finite ones are dropped.
  """
  valid = jnp.all(jnp.isfinite(points), axis=-1)
  lo = jnp.min(jnp.where(valid[:, None], points, jnp.inf), axis=0)
  hi = jnp.max(jnp.where(valid[:, None], points, -jnp.inf), axis=0)
  span = jnp.maximum(hi - lo, 1e-12)
  scaled = (jnp.where(valid[:, None], points, lo) - lo) / span * (size - 1 - 2 * pad) + pad
  pix = jnp.clip(scaled.astype(jnp.int32), 0, size - 1)
  flat = jnp.where(valid, pix[:, 1] * size + pix[:, 0], size * size)
  order = jnp.arange(points.shape[0], dtype=jnp.int32)
  hits = jnp.full(size * size + 1, -1, jnp.int32).at[flat].max(order)
  return hits[:-1].reshape(size, size)


def fill_rate(hits: jax.Array) -> jax.Array:
  """Fraction of pixels the fractal covers (FractalDB's category criterion)."""
  return jnp.mean((hits >= 0).astype(jnp.float32), axis=(-2, -1))


def stamp_patch(hits: jax.Array, patch: jax.Array) -> jax.Array:
  """(H, W, C) image with `patch` (3, 3, C) drawn centred on every point, later points on top.

  Equal to pasting the patch point by point in order (the official loop), computed
  per pixel from the last-hit indices, so it is deterministic on every backend.
  """
  h, w = hits.shape
  padded = jnp.pad(hits, 1, constant_values=-1)
  newest = jnp.full((h, w), -1, jnp.int32)
  cell = jnp.full((h, w), 9, jnp.int32)  # which patch cell each pixel shows; 9 = none
  for dy in range(3):
    for dx in range(3):
      # Pixel q takes patch[dy, dx] from a point sitting at q - (dy - 1, dx - 1).
      shifted = padded[2 - dy:2 - dy + h, 2 - dx:2 - dx + w]
      newer = shifted > newest
      newest = jnp.where(newer, shifted, newest)
      cell = jnp.where(newer, 3 * dy + dx, cell)
  table = jnp.concatenate([patch.reshape(9, -1), jnp.zeros((1, patch.shape[-1]), patch.dtype)])
  return table[cell]


def random_patch(key: jax.Array, color: bool) -> jax.Array:
  """(3, 3, 3) patch: random gray levels (FractalDB patch_gray) or random RGB values."""
  if color:
    return jax.random.uniform(key, (3, 3, 3))
  return jnp.repeat(jax.random.uniform(key, (3, 3, 1)), 3, axis=-1)


def flip_image(image: jax.Array, flip: jax.Array) -> jax.Array:
  """Flip code 0: none, 1: horizontal, 2: vertical, 3: both."""
  image = jnp.where(flip % 2 == 1, image[:, ::-1], image)
  return jnp.where(flip // 2 == 1, image[::-1], image)


def image_key(seed: int, ids: jax.Array) -> jax.Array:
  """The PRNG key of one image, a function of (seed, category, instance) only."""
  return jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), ids[0]), ids[1])


def _stream(key: jax.Array) -> jax.Array:
  return jax.random.bits(key, (), jnp.uint32)


def render_image(coeffs, probs, ids, flip, *, seed: int, num_points: int, num_chains: int,
                 render_size: int, image_size: int, color: bool) -> jax.Array:
  """(image_size, image_size, 3) uint8 image of one IFS; `ids` = (category, instance)."""
  chain_key, patch_key = jax.random.split(image_key(seed, ids))
  points = chaos_game(coeffs, probs, _stream(chain_key), num_points=num_points,
                      num_chains=num_chains)
  image = stamp_patch(last_hits(points, render_size), random_patch(patch_key, color))
  image = flip_image(image, flip)
  if image_size != render_size:
    image = jax.image.resize(image, (image_size, image_size, 3), 'linear', antialias=True)
  return jnp.round(jnp.clip(image, 0.0, 1.0) * 255).astype(jnp.uint8)


def search_fill_rate(coeffs, probs, ids, *, seed: int, num_points: int, num_chains: int,
                     size: int) -> jax.Array:
  """Fill rate of one system drawn with single-pixel points (the category-search criterion)."""
  points = chaos_game(coeffs, probs, _stream(image_key(seed, ids)),
                      num_points=num_points, num_chains=num_chains)
  return fill_rate(last_hits(points, size))


def _over_images(fn, mesh: Mesh):
  """fn over a batch: the batch split over the mesh's `data` axis, then on each device a
  loop over images on CPUs (one image's grid stays in cache) or one vmap on accelerators."""
  if mesh.devices.flat[0].platform == 'cpu':
    local = lambda *xs: jax.lax.map(lambda x: fn(*x), xs)
  else:
    local = jax.vmap(fn)
  # check_vma=False: per-image code starts scans from constants, which are not `data`-varying.
  return jax.shard_map(local, mesh=mesh, in_specs=P('data'), out_specs=P('data'),
                       check_vma=False)


@functools.partial(jax.jit, static_argnames=(
    'mesh', 'seed', 'num_points', 'num_chains', 'render_size', 'image_size', 'color'))
def render_images(coeffs, probs, ids, flips, *, mesh: Mesh, **settings) -> jax.Array:
  """(B, S, S, 3) uint8 images of a batch of systems; B divisible by the mesh size."""
  return _over_images(functools.partial(render_image, **settings), mesh)(
      coeffs, probs, ids, flips)


@functools.partial(jax.jit, static_argnames=('mesh', 'seed', 'num_points', 'num_chains', 'size'))
def fill_rates(coeffs, probs, ids, *, mesh: Mesh, **settings) -> jax.Array:
  """(B,) search fill rates of a batch of systems; B divisible by the mesh size."""
  return _over_images(functools.partial(search_fill_rate, **settings), mesh)(coeffs, probs, ids)


def data_mesh() -> Mesh:
  """A 1-D mesh named `data` over every device of every process."""
  return jax.make_mesh((jax.device_count(),), ('data',),
                       axis_types=(jax.sharding.AxisType.Auto,))


def run_sharded(fn, mesh: Mesh, *arrays: np.ndarray, pad_to: int = 0, **kwargs) -> np.ndarray:
  """fn(*arrays, mesh=mesh, **kwargs) with the leading (host-local batch) axis on `data`.

  The local batch is padded to at least `pad_to` rows (one compiled shape for every
  batch) and to a multiple of the local device count; each process gets back the
  rows it passed in.
  """
  n = len(arrays[0])
  per_host = mesh.local_mesh.size if jax.process_count() > 1 else mesh.size
  padded = -(-max(n, pad_to) // per_host) * per_host
  sharding = NamedSharding(mesh, P('data'))
  global_arrays = [
      jax.make_array_from_process_local_data(
          sharding, np.concatenate([a, np.repeat(a[-1:], padded - n, axis=0)]))
      for a in arrays]
  out = fn(*global_arrays, mesh=mesh, **kwargs)
  shards = sorted(out.addressable_shards, key=lambda s: s.index[0].start or 0)
  local = np.concatenate([np.asarray(s.data) for s in shards])
  return local[:n]
