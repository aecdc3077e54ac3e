"""Randomly initialized Stable Diffusion pipelines, built offline (tests, CPU studies, bench).

`tiny`: components a few thousand times smaller than SD's (32 px in a few ms per step);
`sd15`: Stable Diffusion v1.5's full-size UNet, VAE and CLIP text encoder configs (512 px),
so the cost of real generation is measured without a download. Both use the real CLIP BPE
vocabulary that `open_clip_torch` ships, and the SD v1.5 noise schedule.
"""
from __future__ import annotations

import gzip
import importlib.util
import os
import pathlib

import diffusers
import torch
import transformers
from transformers.convert_slow_tokenizer import bytes_to_unicode

KINDS = ('tiny', 'sd15')
_SCHEDULE = {'beta_start': 0.00085, 'beta_end': 0.012, 'beta_schedule': 'scaled_linear',
             'num_train_timesteps': 1000, 'steps_offset': 1, 'skip_prk_steps': True,
             'set_alpha_to_one': False}
_UNET = {
    'tiny': {'sample_size': 16, 'block_out_channels': (8, 16), 'layers_per_block': 1,
             'down_block_types': ('CrossAttnDownBlock2D', 'DownBlock2D'),
             'up_block_types': ('UpBlock2D', 'CrossAttnUpBlock2D'),
             'cross_attention_dim': 32, 'attention_head_dim': 4, 'norm_num_groups': 4},
    'sd15': {'sample_size': 64, 'cross_attention_dim': 768, 'attention_head_dim': 8},
}
_VAE = {
    'tiny': {'block_out_channels': (8, 16), 'layers_per_block': 1, 'norm_num_groups': 4,
             'down_block_types': ('DownEncoderBlock2D',) * 2,
             'up_block_types': ('UpDecoderBlock2D',) * 2, 'sample_size': 32},
    'sd15': {'block_out_channels': (128, 256, 512, 512), 'layers_per_block': 2,
             'down_block_types': ('DownEncoderBlock2D',) * 4,
             'up_block_types': ('UpDecoderBlock2D',) * 4, 'sample_size': 512},
}
_TEXT = {
    'tiny': {'hidden_size': 32, 'intermediate_size': 64, 'num_attention_heads': 4,
             'num_hidden_layers': 2, 'projection_dim': 32},
    'sd15': {'hidden_size': 768, 'intermediate_size': 3072, 'num_attention_heads': 12,
             'num_hidden_layers': 12, 'projection_dim': 768, 'hidden_act': 'quick_gelu'},
}
_NUM_MERGES = 49152 - 256 - 2  # CLIP's vocabulary: 256 bytes x 2, the merges, 2 specials


def clip_bpe_file() -> pathlib.Path:
  """open_clip_torch's `bpe_simple_vocab_16e6.txt.gz`, found without importing open_clip
  (whose import loads torchvision, which a CPU-only torch may not match)."""
  spec = importlib.util.find_spec('open_clip')
  if spec is None or not spec.submodule_search_locations:
    raise ModuleNotFoundError("open_clip_torch is not installed: pip install 'jaxrobust[diffusion]'")
  return pathlib.Path(spec.submodule_search_locations[0]) / 'bpe_simple_vocab_16e6.txt.gz'


def clip_tokenizer() -> transformers.CLIPTokenizer:
  """CLIP's tokenizer (49,408 tokens): the byte alphabet, then CLIP's BPE merges, then specials."""
  lines = gzip.open(clip_bpe_file()).read().decode('utf-8').split('\n')[1:_NUM_MERGES + 1]
  merges = [tuple(line.split()) for line in lines]
  alphabet = list(bytes_to_unicode().values())
  tokens = (alphabet + [a + '</w>' for a in alphabet] + [a + b for a, b in merges]
            + ['<|startoftext|>', '<|endoftext|>'])
  return transformers.CLIPTokenizer(vocab={t: i for i, t in enumerate(tokens)}, merges=merges,
                                    model_max_length=77)


def build(kind: str, seed: int = 0) -> diffusers.StableDiffusionPipeline:
  """A randomly initialized SD pipeline of size `kind` ('tiny' | 'sd15'), weights from `seed`."""
  if kind not in KINDS:
    raise ValueError(f'random pipeline kind must be one of {KINDS}, got {kind!r}')
  tokenizer = clip_tokenizer()
  torch.manual_seed(seed)
  text_config = transformers.CLIPTextConfig(
      vocab_size=len(tokenizer), max_position_embeddings=77,
      bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
      pad_token_id=tokenizer.pad_token_id, **_TEXT[kind])
  return diffusers.StableDiffusionPipeline(
      vae=diffusers.AutoencoderKL(latent_channels=4, **_VAE[kind]),
      text_encoder=transformers.CLIPTextModel(text_config),
      tokenizer=tokenizer,
      unet=diffusers.UNet2DConditionModel(in_channels=4, out_channels=4, **_UNET[kind]),
      scheduler=diffusers.PNDMScheduler(**_SCHEDULE),
      safety_checker=None, feature_extractor=None, requires_safety_checker=False)


def save(kind: str, path: str | os.PathLike[str], seed: int = 0) -> None:
  """Writes a random pipeline of size `kind` to `path` as diffusers' save_pretrained does."""
  build(kind, seed).save_pretrained(os.fspath(path))
