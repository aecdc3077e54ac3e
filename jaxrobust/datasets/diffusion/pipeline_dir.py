"""The local diffusers pipeline directory: check that it is complete, and its identity.

The code never downloads weights. A pipeline directory is what diffusers' `save_pretrained`
writes (or `hf download <repo> --local-dir DIR` fetches): `model_index.json` naming the
components, and per component its config and weights. The identity recorded with every
generated dataset is a SHA-256 over the files the pipeline loads, with the library versions.
"""
from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import json
import os
import pathlib

from jaxrobust.datasets import archives

# The components of a Stable Diffusion pipeline and what each needs (alternatives by `|`).
_COMPONENT_FILES = {
    'unet': ('config.json', 'diffusion_pytorch_model.safetensors|diffusion_pytorch_model.bin'),
    'vae': ('config.json', 'diffusion_pytorch_model.safetensors|diffusion_pytorch_model.bin'),
    'text_encoder': ('config.json', 'model.safetensors|pytorch_model.bin'),
    'tokenizer': ('tokenizer_config.json', 'tokenizer.json|vocab.json'),
    'scheduler': ('scheduler_config.json',),
}
# Listed by model_index.json in the official repos but not used for generation here.
UNUSED_COMPONENTS = ('safety_checker', 'feature_extractor', 'image_encoder')
DEFAULT_REPO = 'stable-diffusion-v1-5/stable-diffusion-v1-5'
LIBRARIES = ('diffusers', 'torch', 'transformers')


class MissingPipelineError(archives.MissingManualFileError):
  """The pipeline directory is missing or lacks files; the message names them."""


def _components(path: pathlib.Path) -> list[str]:
  index = json.loads((path / 'model_index.json').read_text())
  return [k for k, v in index.items() if not k.startswith('_') and isinstance(v, list)
          and v[0] is not None and k not in UNUSED_COMPONENTS]


def missing_files(path: str | os.PathLike[str]) -> list[str]:
  """The files a pipeline directory lacks (relative paths; `a|b` = either)."""
  path = pathlib.Path(path)
  if not (path / 'model_index.json').exists():
    return ['model_index.json'] + [f'{c}/{f}' for c, fs in _COMPONENT_FILES.items() for f in fs]
  return [f'{c}/{f}' for c in _components(path) for f in _COMPONENT_FILES.get(c, ())
          if not any((path / c / alt).exists() for alt in f.split('|'))]


def require_pipeline(path: str | os.PathLike[str], field: str = '--pipeline_dir') -> pathlib.Path:
  """`path` if it holds a complete pipeline, else MissingPipelineError naming what to fetch."""
  missing = missing_files(path)
  if missing:
    raise MissingPipelineError(
        f'{field}: the diffusers pipeline directory {path} lacks {", ".join(missing)}; on a '
        f'machine with network run `hf download {DEFAULT_REPO} --local-dir DIR --exclude '
        f'"*.ckpt" "*fp16*" "*non_ema*" "safety_checker/*"` (or DiffusionPipeline.from_pretrained'
        f'(...).save_pretrained(DIR)) and copy DIR to {path}.')
  return pathlib.Path(path)


@dataclasses.dataclass(frozen=True)
class ManualPipeline:
  """A pipeline expected as folder `folder` of the manual dir (what `prepare` checks first)."""
  folder: str

  def require(self, manual_dir: str | os.PathLike[str]) -> pathlib.Path:
    return require_pipeline(pathlib.Path(manual_dir) / self.folder, field='--manual_dir')


def model_files(path: str | os.PathLike[str]) -> list[pathlib.Path]:
  """The files the pipeline loads: model_index.json and every used component's folder."""
  path = pathlib.Path(path)
  files = [path / 'model_index.json']
  for component in sorted(_components(path)):
    files += sorted(p for p in (path / component).rglob('*') if p.is_file())
  return files


def pipeline_identity(path: str | os.PathLike[str]) -> dict[str, str]:
  """SHA-256 of the model files (names and contents) and the library versions."""
  path = pathlib.Path(path)
  digest = hashlib.sha256()
  for file in model_files(path):
    digest.update(file.relative_to(path).as_posix().encode() + b'\0')
    with open(file, 'rb') as f:
      digest.update(hashlib.file_digest(f, 'sha256').digest())
  return {'sha256': digest.hexdigest(),
          **{lib: importlib.metadata.version(lib) for lib in LIBRARIES}}
