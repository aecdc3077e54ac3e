"""Engine test helpers: the tiny run config and CLI runs."""
import json
import os
import pathlib
import shutil
import subprocess
import sys

import ml_collections

from jaxrobust.train import writers
from tests.helpers.configs import REPO, load_config

# A run small enough for seconds: 24 steps of batch 16 on 16 px images.
TINY_RUN = {
    'data.name': 'tiny_images',
    'data.image_size': 16,
    'model.width': 1.0,
    'batch_size': 16,
    'eval_batch_size': 16,
    'num_train_steps': 24,
    'optimizer.warmup_steps': 2,
    'checkpoint_every_steps': 4,
    'log_every_steps': 1,
}


def tiny_config(data_dir, **overrides) -> ml_collections.ConfigDict:
  """configs/train.py:tiny with TINY_RUN and `overrides` ('a.b' keys) applied."""
  config = load_config('train', 'tiny')
  values = {**TINY_RUN, 'data.data_dir': str(data_dir), **overrides}
  for key, value in values.items():
    parent = config
    *groups, leaf = key.split('.')
    for group in groups:
      parent = parent[group]
    parent[leaf] = value
  return config


def cli_args(workdir, data_dir, **overrides) -> list[str]:
  """The arguments of jaxrobust.main for configs/train.py:tiny with tiny_config's values."""
  values = {**TINY_RUN, 'data.data_dir': str(data_dir), **overrides}
  return (['--config=configs/train.py:tiny', f'--workdir={workdir}']
          + [f'--config.{k}={v}' for k, v in values.items()])


def cli_command(workdir, data_dir, **overrides) -> list[str]:
  """`python -m jaxrobust.main` for configs/train.py:tiny with the same values as tiny_config."""
  return [sys.executable, '-m', 'jaxrobust.main', *cli_args(workdir, data_dir, **overrides)]


def cli_env(num_devices: int, **extra: str) -> dict[str, str]:
  """Environment of a CLI subprocess seeing `num_devices` fake CPU devices."""
  env = dict(os.environ)
  env['XLA_FLAGS'] = f'--xla_force_host_platform_device_count={num_devices}'
  env.update(extra)
  return env


def run_cli(workdir, data_dir, *, num_devices: int = 8, timeout: float = 240,
            **overrides) -> subprocess.CompletedProcess:
  """Runs the CLI to completion; fails the test with its stderr tail if it fails."""
  result = subprocess.run(cli_command(workdir, data_dir, **overrides), cwd=REPO,
                          env=cli_env(num_devices), capture_output=True, text=True,
                          timeout=timeout, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  return result


def only_run_dir(workdir) -> pathlib.Path:
  """The single run directory under `<workdir>/runs/`."""
  (run_dir,) = pathlib.Path(workdir, 'runs').iterdir()
  return run_dir


def train_losses(run_dir) -> dict[int, float]:
  """{step: train/loss} from the run's metrics.jsonl."""
  return {r['step']: r['train/loss'] for r in
          writers.read_metrics(pathlib.Path(run_dir) / writers.METRICS_FILE)
          if 'train/loss' in r}


def read_json(path) -> dict:
  return json.loads(pathlib.Path(path).read_text())


def _largest_array_file(step_dir: pathlib.Path) -> pathlib.Path:
  files = pathlib.Path(step_dir, 'state', 'ocdbt.process_0', 'd').iterdir()
  return max(files, key=lambda p: p.stat().st_size)


def truncate_array(step_dir) -> None:
  """Cuts the biggest array file of a checkpoint step to 10 bytes."""
  with _largest_array_file(step_dir).open('r+b') as f:
    f.truncate(10)


def truncate_every_array(step_dir) -> None:
  """Cuts every array file of a checkpoint step to 10 bytes (whatever a reader restores)."""
  for path in pathlib.Path(step_dir, 'state', 'ocdbt.process_0', 'd').iterdir():
    with path.open('r+b') as f:
      f.truncate(10)


def _overwrite_bytes(step_dir) -> None:
  path = _largest_array_file(step_dir)
  with path.open('r+b') as f:
    f.seek(path.stat().st_size // 2)
    f.write(b'\xa5' * 64)


def truncate_metadata(step_dir) -> None:
  """Cuts the state metadata JSON of a checkpoint step short."""
  path = step_dir / 'state' / '_METADATA'
  path.write_bytes(path.read_bytes()[:100])


# Ways a checkpoint step gets damaged on disk, by name.
DAMAGE = {'truncated array file': truncate_array, 'overwritten bytes': _overwrite_bytes,
          'truncated metadata': truncate_metadata}


def damaged_dataset_copy(data_dir, target, split: str, fraction: float = 0.0,
                         dataset: str = 'tiny_images') -> pathlib.Path:
  """Copies a TFDS data dir to `target` and flips bytes of `dataset`'s `split` shard.

  64 bytes in the middle of the shard (one Riegeli chunk, typically one record), or with
  `fraction` > 0 that fraction of the shard around its middle. Returns the damaged file.
  """
  shutil.copytree(data_dir, target)
  (shard,) = pathlib.Path(target, dataset).glob(f'**/*-{split}.array_record-*')
  size = shard.stat().st_size
  length = max(64, int(size * fraction))
  with shard.open('r+b') as f:
    f.seek((size - length) // 2)
    f.write(b'\xa5' * length)
  return shard
