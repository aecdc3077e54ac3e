"""Generation work cut into shards: which worker makes which, and their atomic files.

A shard is a fixed run of (fine class, instance) pairs of one split. Worker `w` of `n`
takes shards `w, w + n, ...` of the whole list, so workers never overlap and together cover
everything. A shard's images are written to a temporary file and renamed when complete, so a
killed worker leaves no partial shard (at most a `*.tmp*` file, ignored and overwritten):
rerunning makes exactly the shards that are missing. `generation.json` in the shard folder
holds the settings and pipeline identity the shards were made with; resuming with other ones
is refused.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
import dataclasses
import json
import os
import pathlib

from array_record.python import array_record_module

from jaxrobust import errors

MANIFEST = 'generation.json'
_WRITER_OPTIONS = 'group_size:1,uncompressed'  # encoded images: compression gains nothing


@dataclasses.dataclass(frozen=True)
class Shard:
  """Shard `index` of split `split`: the (fine class, instance) pairs it generates, in order."""
  split: str
  index: int
  items: tuple[tuple[int, int], ...]

  @property
  def filename(self) -> str:
    return f'{self.split}-{self.index:05d}.array_record'


def plan_shards(splits: Mapping[str, range], num_classes: int, shard_size: int) -> list[Shard]:
  """Every split's (class, instance) pairs, class-major, cut into shards of `shard_size`."""
  if shard_size < 1:
    raise errors.ConfigError(f'shard_size must be >= 1, got {shard_size}.')
  shards = []
  for split, instances in splits.items():
    items = [(fine, i) for fine in range(num_classes) for i in instances]
    shards += [Shard(split, k // shard_size, tuple(items[k:k + shard_size]))
               for k in range(0, len(items), shard_size)]
  return shards


def worker_shards(shards: Sequence[Shard], worker: int, num_workers: int) -> list[Shard]:
  """The shards worker `worker` of `num_workers` generates (disjoint across workers)."""
  if not 0 <= worker < num_workers:
    raise errors.ConfigError(f'--worker={worker} must be in 0..{num_workers - 1} '
                             f'(--num_workers={num_workers}).')
  return list(shards[worker::num_workers])


def worker_from_env(env: Mapping[str, str] = os.environ) -> tuple[int, int]:
  """(worker, num_workers) of this process: a SLURM array task, a task of an srun step (not
  the batch script of a multi-task job: it has no peers), a torchrun rank, or (0, 1)."""
  if 'SLURM_ARRAY_TASK_ID' in env and 'SLURM_ARRAY_TASK_COUNT' in env:
    first = int(env.get('SLURM_ARRAY_TASK_MIN', 0))
    return int(env['SLURM_ARRAY_TASK_ID']) - first, int(env['SLURM_ARRAY_TASK_COUNT'])
  for rank, size in (('SLURM_PROCID', 'SLURM_STEP_NUM_TASKS'), ('RANK', 'WORLD_SIZE')):
    if rank in env and size in env:
      return int(env[rank]), int(env[size])
  return 0, 1


def is_done(folder: str | os.PathLike[str], shard: Shard) -> bool:
  return (pathlib.Path(folder) / shard.filename).exists()


def write_shard(folder: str | os.PathLike[str], shard: Shard, images: Sequence[bytes]) -> None:
  """Writes the shard's encoded images (one record each, in item order), atomically."""
  if len(images) != len(shard.items):
    raise ValueError(f'{shard.filename}: {len(images)} images for {len(shard.items)} items.')
  path = pathlib.Path(folder) / shard.filename
  tmp = path.with_name(f'{path.name}.tmp{os.getpid()}')
  writer = array_record_module.ArrayRecordWriter(os.fspath(tmp), _WRITER_OPTIONS)
  for image in images:
    writer.write(image)
  writer.close()
  os.replace(tmp, path)


def read_shard(folder: str | os.PathLike[str], shard: Shard) -> list[bytes]:
  """The shard's encoded images, in item order; an error if it holds another count."""
  path = pathlib.Path(folder) / shard.filename
  reader = array_record_module.ArrayRecordReader(os.fspath(path))
  images = reader.read_all()
  reader.close()
  if len(images) != len(shard.items):
    raise errors.UserError(f'{path} holds {len(images)} images, not {len(shard.items)}: it '
                           'was made with another shard_size; delete the shard folder.')
  return images


def check_manifest(folder: str | os.PathLike[str], manifest: Mapping[str, object]) -> None:
  """Writes `generation.json` in a new shard folder; refuses a folder made otherwise."""
  path = pathlib.Path(folder) / MANIFEST
  if path.exists():
    stored = json.loads(path.read_text())
    changed = sorted(k for k in set(stored) | set(manifest) if stored.get(k) != manifest.get(k))
    if changed:
      raise errors.UserError(
          f'the shards in {folder} were generated with other {", ".join(changed)} '
          f'({", ".join(f"{k}: {stored.get(k)!r} now {manifest.get(k)!r}" for k in changed)})'
          '; restore them, or delete that folder to start over.')
    return
  path.parent.mkdir(parents=True, exist_ok=True)
  tmp = path.with_name(f'{MANIFEST}.tmp{os.getpid()}')
  tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True))
  os.replace(tmp, path)
