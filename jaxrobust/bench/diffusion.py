"""Text-to-image generation speed (images/s) of a local diffusers pipeline, or of a random one.

  python -m jaxrobust.bench diffusion [--json] [--pipeline_dir=DIR | --random=sd15|tiny]
      [--resolution=512] [--steps=50] [--batch=8] [--batches=2] [--dtype=auto]
      [--guidance_scale=7.5] [--compile] [--device=auto]

Without `--pipeline_dir` it times a randomly initialized pipeline built here (`--random`:
`sd15`, Stable Diffusion v1.5's full-size UNet/VAE/CLIP configs, the default; `tiny` for a
quick check), so the cost of real generation is measured without a download: random weights
cost the same FLOPs. One untimed batch first (warm-up, compilation), then `--batches` timed
batches of `--batch` prompts through the same sampling code as `python -m jaxrobust.datasets
generate`. Small `--steps` / `--batch` finish on a CPU.
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence
import sys
import time

import torch

from jaxrobust import bench
from jaxrobust.datasets.diffusion import prompts, random_pipeline, sampler


def run(args: argparse.Namespace) -> dict[str, float | str | int]:
  """The figures: images/s and seconds per image at the given settings."""
  device = sampler.resolve_device(args.device)
  settings = sampler.Settings(
      templates=prompts.DEFAULT_TEMPLATES, negative_prompt=prompts.DEFAULT_NEGATIVE_PROMPT,
      guidance_scale=args.guidance_scale, steps=args.steps, scheduler='',
      image_size=args.resolution, dtype=sampler.resolve_dtype(args.dtype, device), seed=0,
      image_format='jpeg', jpeg_quality=90)
  runtime = sampler.Runtime(batch_size=args.batch, device=device, compile=args.compile)
  if args.pipeline_dir:
    pipe = sampler.load_pipeline(args.pipeline_dir, settings, runtime)
  else:
    pipe = sampler.prepare_pipeline(random_pipeline.build(args.random), settings, runtime)
  texts = [prompts.prompt(settings.templates, 'tench', i) for i in range(args.batch)]
  sampler.sample(pipe, texts, range(args.batch), settings)  # warm-up (and compilation)
  start = time.perf_counter()
  for b in range(args.batches):
    sampler.sample(pipe, texts, range(b * args.batch, (b + 1) * args.batch), settings)
  seconds = time.perf_counter() - start
  images = args.batch * args.batches
  return {
      'pipeline': args.pipeline_dir or f'random-{args.random}', 'device': device,
      'dtype': settings.dtype, 'torch_threads': torch.get_num_threads(),
      'resolution': args.resolution, 'steps': args.steps, 'batch': args.batch,
      'guidance_scale': args.guidance_scale, 'compile': args.compile,
      'images_per_s': round(images / seconds, 4),
      'seconds_per_image': round(seconds / images, 3),
  }


def main(argv: Sequence[str]) -> None:
  """Parses the flags above and reports."""
  parser = argparse.ArgumentParser(prog='python -m jaxrobust.bench diffusion')
  parser.add_argument('--json', action='store_true', help='end with one JSON line')
  parser.add_argument('--pipeline_dir', help='a local diffusers pipeline (default: random)')
  parser.add_argument('--random', choices=random_pipeline.KINDS, default='sd15',
                      help='size of the random pipeline without --pipeline_dir')
  parser.add_argument('--resolution', type=int, default=512)
  parser.add_argument('--steps', type=int, default=50, help='denoising steps')
  parser.add_argument('--batch', type=int, default=8, help='prompts per pipeline call')
  parser.add_argument('--batches', type=int, default=2, help='timed calls')
  parser.add_argument('--guidance_scale', type=float, default=7.5)
  parser.add_argument('--dtype', default='auto', help='auto | float32 | float16 | bfloat16')
  parser.add_argument('--device', default='auto', help='auto | cpu | cuda:N')
  parser.add_argument('--compile', action='store_true', help='torch.compile the UNet')
  args = parser.parse_args(argv)
  figures = run(args)
  bench.print_figures('Text-to-image generation (classifier-free guidance, one image per prompt)',
                      figures, args.json)


if __name__ == '__main__':
  main(sys.argv[1:])
