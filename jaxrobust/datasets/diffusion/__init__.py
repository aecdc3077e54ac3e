"""Text-to-image pre-training data: prompts, the local diffusers pipeline, sharded generation.

Only `prompts`, `pipeline_dir` and `shards` import without PyTorch; `sampler` and
`random_pipeline` load torch/diffusers (the `[diffusion]` extra) when first imported.
"""
