"""XLA flags the entry points set before JAX starts its backend."""
import importlib.metadata
import importlib.util
import os

# Measured with `python -m jaxrobust.bench train` on 2 CPU cores: ResNet-18/50 train steps run
# 10-90% faster when XLA does not hand single convolutions to YNNPACK.
CPU_XLA_FLAGS = '--xla_cpu_experimental_ynn_fusion_type=-individual_convolution'


def use_tuned_cpu_flags() -> None:
  """Sets CPU_XLA_FLAGS on CPU-only installs, unless the user set XLA_FLAGS (theirs wins)."""
  accelerator = (importlib.util.find_spec('jax_plugins') is not None
                 or importlib.util.find_spec('libtpu') is not None
                 or bool(importlib.metadata.entry_points(group='jax_plugins')))
  if not accelerator and 'XLA_FLAGS' not in os.environ:
    os.environ['XLA_FLAGS'] = CPU_XLA_FLAGS
