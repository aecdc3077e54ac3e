"""Images from a local diffusers pipeline with PyTorch: batched, seeded per image, sharded.

Importing this module loads torch and diffusers (the `[diffusion]` extra).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
import dataclasses
import os
import time

from absl import logging
import diffusers
import numpy as np
import torch

from jaxrobust import errors
from jaxrobust.datasets.builders import encode_image
from jaxrobust.datasets.diffusion import prompts as prompts_lib
from jaxrobust.datasets.diffusion import shards as shards_lib

diffusers.utils.logging.disable_progress_bar()  # absl logs the progress per shard instead
DTYPES = {'float32': torch.float32, 'float16': torch.float16, 'bfloat16': torch.bfloat16}


@dataclasses.dataclass(frozen=True)
class Settings:
  """Everything that decides an image's pixels (recorded with the dataset)."""
  templates: tuple[str, ...]
  negative_prompt: str
  guidance_scale: float
  steps: int
  scheduler: str            # '' = the pipeline's own, else a diffusers scheduler class name
  image_size: int
  dtype: str                # float32 | float16 | bfloat16 (resolved, never 'auto')
  seed: int
  image_format: str
  jpeg_quality: int


@dataclasses.dataclass(frozen=True)
class Runtime:
  """How fast, not what: batch size, device, torch.compile (not part of the dataset)."""
  batch_size: int = 8
  device: str = 'auto'      # auto: this process's GPU (LOCAL_RANK) if there is one, else cpu
  compile: bool = False


def resolve_device(device: str) -> str:
  """'auto' -> `cuda:<LOCAL_RANK mod GPUs>` when CUDA is there, else 'cpu'."""
  if device != 'auto':
    return device
  if torch.cuda.is_available():
    return f'cuda:{int(os.environ.get("LOCAL_RANK", 0)) % torch.cuda.device_count()}'
  return 'cpu'


def resolve_dtype(dtype: str, device: str) -> str:
  """'auto' -> float16 on a GPU, float32 on the CPU; else `dtype`, checked."""
  if dtype == 'auto':
    return 'float16' if device.startswith('cuda') else 'float32'
  if dtype not in DTYPES:
    raise errors.ConfigError(f"dtype must be 'auto' or one of {sorted(DTYPES)}, got {dtype!r}.")
  return dtype


def _scheduler(pipe: diffusers.DiffusionPipeline, name: str):
  cls = getattr(diffusers, name, None)
  if not (isinstance(cls, type) and issubclass(cls, diffusers.SchedulerMixin)):
    raise errors.ConfigError(f'scheduler={name!r} is not a diffusers scheduler class; use '
                             "e.g. 'DPMSolverMultistepScheduler', 'DDIMScheduler' or '' for the "
                             "pipeline's own.")
  return cls.from_config(pipe.scheduler.config)


def load_pipeline(path: str | os.PathLike[str], settings: Settings,
                  runtime: Runtime) -> diffusers.StableDiffusionPipeline:
  """The pipeline in `path` (local files only), on the runtime's device and dtype."""
  pipe = diffusers.StableDiffusionPipeline.from_pretrained(
      os.fspath(path), local_files_only=True, dtype=DTYPES[settings.dtype],
      safety_checker=None, feature_extractor=None, requires_safety_checker=False)
  return prepare_pipeline(pipe, settings, runtime)


def prepare_pipeline(pipe: diffusers.StableDiffusionPipeline, settings: Settings,
                     runtime: Runtime) -> diffusers.StableDiffusionPipeline:
  """`pipe` with the settings' scheduler, on the runtime's device/dtype, compiled if asked."""
  if settings.scheduler:
    pipe.scheduler = _scheduler(pipe, settings.scheduler)
  pipe = pipe.to(resolve_device(runtime.device))
  if pipe.unet.dtype != DTYPES[settings.dtype]:  # a pipeline built here, not loaded in dtype
    pipe = pipe.to(dtype=DTYPES[settings.dtype])
  pipe.set_progress_bar_config(disable=True)
  if runtime.compile:
    pipe.unet = torch.compile(pipe.unet)
  return pipe


def sample(pipe: diffusers.StableDiffusionPipeline, texts: Sequence[str], seeds: Sequence[int],
           settings: Settings) -> np.ndarray:
  """uint8 images (N, size, size, 3), image k from the sampler seeded with `seeds[k]`."""
  generators = [torch.Generator(pipe.device).manual_seed(s) for s in seeds]
  with torch.inference_mode():
    out = pipe(list(texts), negative_prompt=[settings.negative_prompt] * len(texts),
               height=settings.image_size, width=settings.image_size,
               num_inference_steps=settings.steps, guidance_scale=settings.guidance_scale,
               generator=generators, output_type='np')
  return np.round(np.asarray(out.images, np.float32) * 255).clip(0, 255).astype(np.uint8)


def generate_shards(pipe: diffusers.StableDiffusionPipeline, todo: Sequence[shards_lib.Shard],
                    folder: str | os.PathLike[str], names: Sequence[str], settings: Settings,
                    runtime: Runtime, on_batch: Callable[[], None] | None = None) -> int:
  """Generates the shards of `todo` not yet in `folder`; returns how many it made.

  `names` are the fine classes' human names; `on_batch` runs after every batch (progress).
  """
  missing = [s for s in todo if not shards_lib.is_done(folder, s)]
  start, made = time.perf_counter(), 0
  for n, shard in enumerate(missing):
    images = []
    for k in range(0, len(shard.items), runtime.batch_size):
      batch = shard.items[k:k + runtime.batch_size]
      texts = [prompts_lib.prompt(settings.templates, names[f], i) for f, i in batch]
      seeds = [prompts_lib.image_seed(settings.seed, f, i) for f, i in batch]
      images += [encode_image(image, settings.image_format, settings.jpeg_quality)
                 for image in sample(pipe, texts, seeds, settings)]
      if on_batch:
        on_batch()
    shards_lib.write_shard(folder, shard, images)
    made += len(images)
    logging.info('diffusion: shard %s done (%d/%d of this worker), %.2f images/s',
                 shard.filename, n + 1, len(missing), made / (time.perf_counter() - start))
  return len(missing)
