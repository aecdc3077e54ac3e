"""Model registry: build any zoo model by name."""
from collections.abc import Callable
import difflib

from flax import nnx
import jax.numpy as jnp

from jaxrobust.models import alexnet
from jaxrobust.models import densenet
from jaxrobust.models import mobilenet
from jaxrobust.models import resnet

_MODELS: dict[str, Callable[..., nnx.Module]] = {
    'resnet18': resnet.resnet18,
    'resnet34': resnet.resnet34,
    'resnet50': resnet.resnet50,
    'resnet101': resnet.resnet101,
    'resnext50_32x4d': resnet.resnext50_32x4d,
    'resnet_tiny': resnet.resnet_tiny,
    'densenet121': densenet.densenet121,
    'alexnet': alexnet.alexnet,
    'mobilenet_v3_small': mobilenet.mobilenet_v3_small,
    'mobilenet_v3_large': mobilenet.mobilenet_v3_large,
}


def model_names() -> list[str]:
  """Names accepted by `build_model`, sorted."""
  return sorted(_MODELS)


def build_model(name: str, *, num_classes: int, rngs: nnx.Rngs,
                stem: str = 'imagenet', width: float = 1.0,
                dtype: jnp.dtype = jnp.float32) -> nnx.Module:
  """Model `name` with a `num_classes` `head`: NHWC images in, logits out."""
  if name not in _MODELS:
    close = difflib.get_close_matches(name, _MODELS, n=1)
    hint = f' Did you mean {close[0]!r}?' if close else ''
    raise ValueError(f'Unknown model {name!r} (config.model.name).{hint} '
                     f'Valid names: {", ".join(model_names())}.')
  return _MODELS[name](num_classes=num_classes, rngs=rngs, stem=stem,
                       width=width, dtype=jnp.dtype(dtype))
