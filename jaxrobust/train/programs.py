"""A run's compiled programs (model initializer, optimizer init, train and eval steps), shared.

Tracing and lowering a step (and then compiling it, or loading it from JAX's persistent
cache) takes seconds per run, which on a CPU is more than training a tiny model for a few
epochs; the fine-tunes of a study differ only in their weights, seed and data, so they
would trace the same programs again and again. `ProgramCache.for_run` keys the programs by everything
they close over (the model's graph definitions, the optimizer config and the run length its
schedule depends on, the step's options, the mesh), so a run gets exactly the programs it
would have built itself, and the same numbers. Models with RNG streams (dropout) close over
the run's seed and are never shared. A cache lives in a `jaxrobust.train.engine_cache.EngineCache`
that the caller passes to every run that may share it.
"""
from collections import OrderedDict
from collections.abc import Callable
import dataclasses
import json
import threading
from typing import Any

from flax import nnx
import jax
import jax.numpy as jnp
from jax.sharding import Mesh
import ml_collections

from jaxrobust import models
from jaxrobust.errors import ConfigError
from jaxrobust.train import optim
from jaxrobust.train import step as step_lib

MAX_SHARED = 8  # the programs of this many recipes stay alive (the least recently used go)
COMPUTE_DTYPES = {'float32': jnp.float32, 'bfloat16': jnp.bfloat16}


@dataclasses.dataclass(frozen=True)
class Programs:
  """What a run trains and evaluates with (`step.make_train_step`, `step.make_eval_step`)."""
  init_opt_state: Callable[[dict], Any]
  train_step: Callable[[step_lib.TrainState, step_lib.Batch], tuple[step_lib.TrainState, dict]]
  eval_step: Callable[[dict, dict, step_lib.Batch], dict[str, jax.Array]]


class _Lru:
  """A thread-safe mapping that keeps the `MAX_SHARED` most recently used values."""

  def __init__(self):
    self._values: 'OrderedDict[tuple, Any]' = OrderedDict()
    self._lock = threading.Lock()

  def get(self, key: tuple, build: Callable[[], Any]) -> Any:
    with self._lock:
      if key in self._values:
        self._values.move_to_end(key)
        return self._values[key]
      value = self._values[key] = build()
      while len(self._values) > MAX_SHARED:
        self._values.popitem(last=False)
      return value


class ProgramCache:
  """Compiled programs shared by the runs that hold this cache (keyed by what they close over)."""

  def __init__(self):
    self._initializers = _Lru()
    self._programs = _Lru()

  def model_initializer(self, name: str, stem: str, width: float, dtype: str,
                        num_classes: int, seed: int):
    """(graphdef, compiled initializer of the state): built once per model and seed."""

    def create() -> nnx.Module:
      return models.build_model(name, num_classes=num_classes, rngs=nnx.Rngs(seed), stem=stem,
                                width=width, dtype=COMPUTE_DTYPES[dtype])

    def build():
      try:
        graphdef, _ = nnx.split(nnx.eval_shape(create))
      except ValueError as e:
        raise ConfigError(str(e)) from None
      # One compiled initializer instead of one eager dispatch (and compilation) per tensor;
      # it runs once per run, so XLA's optimizations (seconds of compile time on CPU) are not
      # worth it.
      init = jax.jit(lambda: nnx.state(create())).lower().compile(
          compiler_options={'xla_backend_optimization_level': 0})
      return graphdef, init

    return self._initializers.get((name, stem, width, dtype, num_classes, seed), build)

  def for_run(self, model_def: step_lib.ModelDef, config: ml_collections.ConfigDict,
              num_steps: int, params: dict, mesh: Mesh, compute_dtype: jnp.dtype) -> Programs:
    """The programs of a run of `config` (`num_steps` long) on `model_def` and `params`."""
    # Built (and so checked) for every run; only its jitted uses are shared.
    tx, schedule = optim.make_optimizer(
        config.optimizer, num_steps, params,
        trainable=(f'{step_lib.HEAD}/.*',) if model_def.frozen_backbone else None)

    def build() -> Programs:
      return Programs(
          jax.jit(tx.init),
          step_lib.make_train_step(
              model_def, tx, schedule, mesh, normalization=config.data.normalization,
              compute_dtype=compute_dtype, label_smoothing=config.label_smoothing,
              seed=config.seed),
          step_lib.make_eval_step(
              model_def, mesh, normalization=config.data.normalization,
              compute_dtype=compute_dtype, with_logits=config.save_logits))

    if model_def.other_state:  # RNG streams: the train step closes over this run's seed
      return build()
    # All that `build` closes over: the graph definitions fix the parameters' structure
    # (their shapes are jit's business), the rest are the config fields it reads.
    key = (model_def.train_graphdef, model_def.eval_graphdef, model_def.frozen_backbone,
           json.dumps(config.optimizer.to_dict(), sort_keys=True),
           optim.schedule_steps(config.optimizer, num_steps), config.data.normalization,
           jnp.dtype(compute_dtype).name, config.label_smoothing, config.save_logits, mesh)
    return self._programs.get(key, build)
