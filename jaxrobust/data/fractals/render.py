"""Vectorized JAX rendering of IFS fractals: chaos game, rasterization, patches, flips.

Every image runs `num_chains` chaos-game chains side by side (`lax.scan` over
iterations, vmapped over chains and images), so one jit-compiled call renders a
whole batch; the batch axis is sharded over a `data` mesh axis.
Randomness comes from (seed, category, instance), so an image does not depend on
the batch it was rendered in.
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


def chaos_game(coeffs: jax.Array, probs: jax.Array, key: jax.Array, *,
               num_points: int, num_chains: int) -> jax.Array:
  """(num_points, 2) points of one IFS attractor from `num_chains` parallel chains."""
  steps = -(-num_points // num_chains) + BURN_IN
  cum = jnp.cumsum(probs)
  last_map = jnp.sum(probs > 0) - 1

  def step(xy, t):
    u = jax.random.uniform(jax.random.fold_in(key, t), (num_chains,))
    m = jnp.minimum(jnp.sum(u[:, None] * cum[-1] >= cum[None, :], axis=-1), last_map)
    a, b, c, d, e, f = jnp.moveaxis(coeffs[m], -1, 0)
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
  image = jnp.zeros((h, w, patch.shape[-1]), patch.dtype)
  for dy in range(3):
    for dx in range(3):
      # Pixel q takes patch[dy, dx] from a point sitting at q - (dy - 1, dx - 1).
      shifted = padded[2 - dy:2 - dy + h, 2 - dx:2 - dx + w]
      newer = shifted > newest
      newest = jnp.where(newer, shifted, newest)
      image = jnp.where(newer[..., None], patch[dy, dx], image)
  return image


def random_patch(key: jax.Array, color: bool) -> jax.Array:
  """(3, 3, 3) patch: random gray levels (FractalDB patch_gray) or random RGB values."""
  if color:
    return jax.random.uniform(key, (3, 3, 3))
  return jnp.repeat(jax.random.uniform(key, (3, 3, 1)), 3, axis=-1)


def flip_image(image: jax.Array, flip: jax.Array) -> jax.Array:
  """Flip code 0: none, 1: horizontal, 2: vertical, 3: both."""
  image = jnp.where(flip % 2 == 1, image[:, ::-1], image)
  return jnp.where(flip // 2 == 1, image[::-1], image)


def image_key(seed: int | jax.Array, category: jax.Array, instance: jax.Array) -> jax.Array:
  """The PRNG key of one image, a function of (seed, category, instance) only."""
  return jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), category), instance)


def render_image(coeffs, probs, ids, flip, seed, *, num_points: int, num_chains: int,
                 render_size: int, image_size: int, color: bool) -> jax.Array:
  """(image_size, image_size, 3) uint8 image of one IFS; `ids` = (category, instance)."""
  chain_key, patch_key = jax.random.split(image_key(seed, ids[0], ids[1]))
  points = chaos_game(coeffs, probs, chain_key, num_points=num_points, num_chains=num_chains)
  image = stamp_patch(last_hits(points, render_size), random_patch(patch_key, color))
  image = flip_image(image, flip)
  if image_size != render_size:
    image = jax.image.resize(image, (image_size, image_size, 3), 'linear', antialias=True)
  return jnp.round(jnp.clip(image, 0.0, 1.0) * 255).astype(jnp.uint8)


@functools.partial(jax.jit, static_argnames=(
    'num_points', 'num_chains', 'render_size', 'image_size', 'color'))
def render_images(coeffs, probs, ids, flips, seed, **static) -> jax.Array:
  """(B, S, S, 3) uint8 images of a batch of systems (jit-compiled, vmapped)."""
  return jax.vmap(lambda c, p, i, f: render_image(c, p, i, f, seed, **static))(
      coeffs, probs, ids, flips)


@functools.partial(jax.jit, static_argnames=('num_points', 'num_chains', 'size'))
def fill_rates(coeffs, probs, ids, seed, *, num_points: int, num_chains: int,
               size: int) -> jax.Array:
  """(B,) fill rates of single-pixel renderings (the category-search criterion)."""
  def one(c, p, i):
    points = chaos_game(c, p, image_key(seed, i[0], i[1]),
                        num_points=num_points, num_chains=num_chains)
    return fill_rate(last_hits(points, size))
  return jax.vmap(one)(coeffs, probs, ids)


def data_mesh() -> Mesh:
  """A 1-D mesh named `data` over every device of every process."""
  # Auto axes: the renderer is per-image, so XLA needs no sharding annotations inside.
  return jax.make_mesh((jax.device_count(),), ('data',),
                       axis_types=(jax.sharding.AxisType.Auto,))


def run_sharded(fn, mesh: Mesh, *arrays: np.ndarray, pad_to: int = 0, **kwargs) -> np.ndarray:
  """fn(*arrays, **kwargs) with the leading (host-local batch) axis sharded over `data`.

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
  out = fn(*global_arrays, **kwargs)
  shards = sorted(out.addressable_shards, key=lambda s: s.index[0].start or 0)
  local = np.concatenate([np.asarray(s.data) for s in shards])
  return local[:n]
