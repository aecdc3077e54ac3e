"""What a study's datasets look like on disk, read without building anything."""
import dataclasses
import glob
import json
import os
import sys
from typing import Any

import tensorflow_datasets as tfds

import jaxrobust.datasets  # noqa: F401  (registers the project's builders)

_DEFAULT_DATA_DIR = '~/tensorflow_datasets'
# Train split sizes of the real sources as released, so a dry run before the build can say
# what a whole-source pre-training run's steps mean in epochs.
PUBLISHED_TRAIN_EXAMPLES = {
    'imagenet2012': 1_281_167, 'inaturalist/2017': 579_184,
    'inaturalist/2021_mini': 500_000, 'inaturalist/2021': 2_686_843,
}


@dataclasses.dataclass(frozen=True)
class DatasetStatus:
  """Whether one dataset a study reads is ready, and what happens if not."""
  name: str
  state: str          # 'ready' | 'generate' | 'materialize' | 'missing'
  detail: str = ''    # for 'missing': where the manual files go


def study_data_dir(data_dir: str | None, workdir: str | None = None) -> str:
  """`data_dir`, else $TFDS_DATA_DIR, else `<workdir>/data` (without a workdir: TFDS's default)."""
  default = os.path.join(workdir, 'data') if workdir else _DEFAULT_DATA_DIR
  return os.path.expanduser(data_dir or os.environ.get('TFDS_DATA_DIR') or default)


def prepared_dir(name: str, data_dir: str) -> str | None:
  """The version folder of TFDS dataset `name[/config][:version]` in `data_dir`, if built."""
  name, _, version = name.partition(':')
  base = os.path.join(data_dir, *name.split('/'))
  patterns = [os.path.join(base, version or '*', 'dataset_info.json')]
  if '/' not in name:  # a builder's default config lives one folder deeper
    patterns.append(os.path.join(base, '*', version or '*', 'dataset_info.json'))
  for pattern in patterns:
    found = sorted(glob.glob(pattern))
    if found:
      return os.path.dirname(found[-1])
  return None


def builder_config_names(builder: str) -> list[str]:
  """The config names of a registered TFDS builder (e.g. `inaturalist`: 2017, 2018, ...)."""
  return list(tfds.builder_cls(builder).builder_configs)


def _split_lengths(name: str, data_dir: str) -> dict[str, int] | None:
  """{split: examples} of a built dataset (from its dataset_info.json); None if not built."""
  path = prepared_dir(name, data_dir)
  if path is None:
    return None
  with open(os.path.join(path, 'dataset_info.json')) as f:
    info = json.load(f)
  return {s['name']: sum(int(n) for n in s.get('shardLengths', []))
          for s in info.get('splits', [])}


def split_names(name: str, data_dir: str) -> list[str] | None:
  """The splits of a built dataset; None if it is not built."""
  lengths = _split_lengths(name, data_dir)
  return None if lengths is None else list(lengths)


def train_examples(name: str, data_dir: str, split: str = 'train') -> int | None:
  """Examples in `split` of a built dataset (from its dataset_info.json); None if not built."""
  return (_split_lengths(name, data_dir) or {}).get(split)


def dataset_status(need: dict[str, Any], data_dir: str) -> DatasetStatus:
  """Ready, to be generated/materialized, or missing its manual download."""
  name = need['name']
  if prepared_dir(name, data_dir) is not None:
    return DatasetStatus(name, 'ready')
  if need['subset'] is not None:
    sources = ', '.join(s['name'] for s in need['subset']['sources'])
    return DatasetStatus(name, 'materialize', f'from {sources}')
  instructions = manual_instructions(name)
  if instructions is None:
    return DatasetStatus(name, 'generate', generate_command(name, data_dir))
  return DatasetStatus(name, 'missing', instructions)


def generate_command(name: str, data_dir: str) -> str:
  """The command a builder names for generating `name` elsewhere (text-to-image), or ''."""
  try:
    module = sys.modules[tfds.builder_cls(name.partition(':')[0].split('/')[0]).__module__]
  except Exception:  # pylint: disable=broad-except  (unknown names: manual_instructions says so)
    return ''
  command = getattr(module, 'generate_command', None)
  return command(name, data_dir) if command else ''


def manual_instructions(name: str) -> str | None:
  """The builder's manual-download instructions (one line), or None for generated datasets."""
  try:
    cls = tfds.builder_cls(name.partition(':')[0].split('/')[0])
  except Exception as e:  # pylint: disable=broad-except  (tfds raises several types)
    return f'no TFDS builder named {name!r} ({type(e).__name__}); check the dataset name'
  text = getattr(cls, 'MANUAL_DOWNLOAD_INSTRUCTIONS', None)
  if not text:
    return None
  return ' '.join(text.split())
