"""The one training engine: `train_and_evaluate(config, run_dir)` for every kind of run.

Sections: data, model, optimizer + state, checkpoint resume, input, train loop, final
evaluation. The caller (jaxrobust.study.stages, where a config becomes a run) has checked the
config's fields and made `run_dir` absolute; the engine checks what needs the data.
"""
import contextlib
import time

from absl import logging
from clu import periodic_actions
from etils import epath
from flax import nnx
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxrobust.errors import ConfigError, NonFiniteLossError
from jaxrobust.input import decoded_cache
from jaxrobust.input import loading
from jaxrobust.input import pipeline
from jaxrobust.input import preprocess
from jaxrobust.train import checkpoint
from jaxrobust.train import evaluate as evaluate_lib
from jaxrobust.train import evaluator as evaluator_lib
from jaxrobust.train import interrupt
from jaxrobust.train import mesh as mesh_lib
from jaxrobust.train import step as step_lib
from jaxrobust.train import writers
from jaxrobust.train.engine_cache import EngineCache
from jaxrobust.train.programs import COMPUTE_DTYPES
from jaxrobust.train.result import RunResult

INIT_MODES = ('full', 'linear_probe')
MAX_STEPS_IN_FLIGHT = 2
BEST_SCORES = 'best_selection_macro_f1'  # checkpoint input-state key: {split: best so far}


def num_train_steps(config: ml_collections.ConfigDict, num_train_examples: int) -> int:
  """Training length in steps, from `num_train_steps` or `num_epochs` (exactly one is set)."""
  if (config.num_train_steps is None) == (config.num_epochs is None):
    raise ConfigError('Set exactly one of config.num_train_steps and config.num_epochs.')
  steps_per_epoch = num_train_examples // config.batch_size
  if steps_per_epoch == 0:
    raise ConfigError(f'config.batch_size={config.batch_size} exceeds the '
                      f'{num_train_examples} training examples; lower it.')
  steps = (config.num_train_steps if config.num_train_steps is not None
           else round(config.num_epochs * steps_per_epoch))
  if steps <= 0:
    raise ConfigError('The run has no training steps; raise config.num_train_steps or '
                      'config.num_epochs.')
  return int(steps)


def _compute_dtype(config: ml_collections.ConfigDict) -> jnp.dtype:
  if config.model.dtype not in COMPUTE_DTYPES:
    raise ConfigError(f'config.model.dtype={config.model.dtype!r}; use one of '
                      f'{list(COMPUTE_DTYPES)}.')
  return COMPUTE_DTYPES[config.model.dtype]


def init_model(config: ml_collections.ConfigDict, num_classes: int,
               cache: EngineCache | None = None) -> nnx.Module:
  """The zoo model named by `config.model` with a `num_classes` head, seeded by `config.seed`."""
  _compute_dtype(config)  # a bad dtype names its field
  cache = cache or EngineCache()
  graphdef, init = cache.programs.model_initializer(
      config.model.name, config.model.stem, float(config.model.width), config.model.dtype,
      int(num_classes), int(config.seed))
  return nnx.merge(graphdef, init())


def _open_split(builder, split: str, transform: decoded_cache.Transform, budget_mb: float,
                cache: EngineCache):
  """The split's records, decoded once when that fits `budget_mb` (jaxrobust.input.decoded_cache)."""
  source = loading.open_split(builder, split,
                              training=isinstance(transform, preprocess.TrainPreprocess))
  return cache.decoded_splits.get(source, transform, (str(builder.data_dir), split), budget_mb)


def _steps_at(config: ml_collections.ConfigDict, field: str, num_steps: int) -> set[int]:
  """Every `config.<field>` steps (positive: runs.check_values), and the last step."""
  every = config[field]
  return set(range(every, num_steps + 1, every)) | {num_steps}


def _eval_steps(config: ml_collections.ConfigDict, steps_per_epoch: int,
                num_steps: int) -> set[int]:
  """Steps after which to evaluate during training (the final evaluation is separate)."""
  if config.eval_every_epochs is None:
    return set()
  every = max(1, round(config.eval_every_epochs * steps_per_epoch))
  return set(range(every, num_steps, every))


def _format_seconds(seconds: float) -> str:
  minutes, seconds = divmod(int(seconds), 60)
  hours, minutes = divmod(minutes, 60)
  return f'{hours}h{minutes:02d}m{seconds:02d}s' if hours else f'{minutes}m{seconds:02d}s'


class _TrainMetrics:
  """Per-step metrics kept on device until the next log/save point, then checked and written."""

  def __init__(self, writer, num_steps: int, batch_size: int, steps_per_epoch: int):
    self._writer, self._num_steps = writer, num_steps
    self._batch_size, self._steps_per_epoch = batch_size, steps_per_epoch
    self._pending: list[tuple[int, dict[str, jax.Array]]] = []
    self._last_time, self._last_step = time.perf_counter(), None
    self.input_seconds = 0.0
    self.last_loss = None

  def add(self, step: int, metrics: dict[str, jax.Array]) -> None:
    self._pending.append((step, metrics))
    # Bound how far the host runs ahead of the devices. Many queued steps can deadlock
    # XLA:CPU's cross-device all-reduce (seen with 8 host devices on 2 cores); on
    # accelerators a few steps in flight already hide the dispatch latency.
    if len(self._pending) > MAX_STEPS_IN_FLIGHT:
      jax.block_until_ready(self._pending[-MAX_STEPS_IN_FLIGHT - 1][1]['loss'])

  def flush(self, last_good_checkpoint: int | None, checkpoint_dir: epath.Path) -> None:
    """Writes the mean of the pending steps; raises NonFiniteLossError on a NaN/inf step."""
    if not self._pending:
      return
    steps = [s for s, _ in self._pending]
    values = jax.device_get([m for _, m in self._pending])
    self._pending = []
    for step, metrics in zip(steps, values):
      if not metrics['finite']:
        where = (f'step {last_good_checkpoint} in {checkpoint_dir}'
                 if last_good_checkpoint is not None else 'none (no step was saved)')
        raise NonFiniteLossError(
            f'Training diverged: loss, gradients or parameters became NaN or inf at step '
            f'{step}; the run stopped without saving that state (last good checkpoint: '
            f'{where}). Lower config.optimizer.learning_rate or raise '
            f'config.optimizer.warmup_steps.')
    step = steps[-1]
    mean = {k: float(np.mean([m[k] for m in values])) for k in values[0] if k != 'finite'}
    mean['skipped_images'] = float(np.sum([m['skipped_images'] for m in values]))
    self.last_loss = mean['loss']
    self._writer.write_scalars(step, {f'train/{k}': v for k, v in mean.items()})
    self._log_progress(step, len(steps), mean)

  def _log_progress(self, step: int, num_logged: int, mean: dict[str, float]) -> None:
    now = time.perf_counter()
    seconds, self._last_time = now - self._last_time, now
    steps_done = num_logged if self._last_step is None else step - self._last_step
    self._last_step = step
    images_per_second = steps_done * self._batch_size / max(seconds, 1e-9)
    eta = (self._num_steps - step) * seconds / max(steps_done, 1)
    wait, self.input_seconds = self.input_seconds / max(seconds, 1e-9), 0.0
    logging.info(
        'step %d/%d (%.0f%%) | epoch %.2f | loss %.4f | acc %.3f | lr %.3g | '
        '%.1f img/s | input wait %.0f%% | ETA %s', step, self._num_steps,
        100 * step / self._num_steps, step / self._steps_per_epoch, mean['loss'],
        mean['accuracy'], mean['learning_rate'], images_per_second, 100 * min(wait, 1),
        _format_seconds(eta))


def train_and_evaluate(config: ml_collections.ConfigDict, run_dir: epath.Path, *,
                       on_evaluation: evaluate_lib.OnEvaluation | None = None,
                       cache: EngineCache | None = None) -> RunResult:
  """Trains (or resumes) the run in the absolute `run_dir`, evaluates it, returns the result.

  Evaluates `config.data.eval_splits` every `config.eval_every_epochs` and at the end, as the
  `SelectionEvaluator` decides (jaxrobust.train.evaluator). `on_evaluation` gets each
  `Evaluation` on process 0 (the one that writes files). `cache`: what this run may share
  with earlier runs of the process (a fresh one if None). SIGTERM/SIGINT save a checkpoint
  after the current step and raise `interrupt.Interrupted`.
  """
  start_time = time.time()
  cache = cache or EngineCache()
  mesh = mesh_lib.make_mesh()
  mesh_lib.check_global_batch_size(config.batch_size, 'config.batch_size')
  compute_dtype = _compute_dtype(config)
  if config.init.mode not in INIT_MODES:
    raise ConfigError(f'config.init.mode={config.init.mode!r}; use one of {INIT_MODES}.')
  linear_probe = config.init.mode == 'linear_probe'
  evaluator_lib.selection_splits(config)  # a bad field fails before any data is read

  # ---- Data ----
  builder = loading.open_dataset(config.data.name, config.data.data_dir)
  num_classes = loading.num_classes(builder, config.data.label_key)
  train_transform = preprocess.TrainPreprocess(
      image_size=config.data.image_size, mode=config.data.train_preprocess,
      flip=config.data.augment_flip, label_key=config.data.label_key)
  eval_transform = preprocess.EvalPreprocess(
      image_size=config.data.image_size, mode=config.data.eval_preprocess,
      label_key=config.data.label_key)
  budget = config.data.cache_decoded_mb
  train_source = _open_split(builder, config.data.train_split, train_transform, budget, cache)
  eval_sources = {split: _open_split(builder, split, eval_transform, budget, cache)
                  for split in config.data.eval_splits}
  num_steps = num_train_steps(config, len(train_source))
  steps_per_epoch = len(train_source) // config.batch_size

  # ---- Model (+ fine-tune handoff) ----
  model = init_model(config, num_classes, cache)
  if config.init.model_init:
    from jaxrobust.train import handoff  # pylint: disable=g-import-not-at-top
    handoff.restore_backbone(model, config.init)
  model_def, params, batch_stats = step_lib.split_model(model, frozen_backbone=linear_probe)

  # ---- Optimizer, train state and steps (shared with earlier runs of the same recipe) ----
  run_programs = cache.programs.for_run(model_def, config, num_steps, params, mesh,
                                        compute_dtype)
  state = step_lib.init_train_state(params, batch_stats, run_programs.init_opt_state, mesh)
  train_step = run_programs.train_step

  # ---- Checkpoints: resume where the last run stopped ----
  checkpoint_dir = run_dir / checkpoint.CHECKPOINT_DIR
  manager = checkpoint.checkpoint_manager(checkpoint_dir, keep=config.keep_checkpoints)
  state, data_state, first_step = checkpoint.restore_latest(manager, state)
  if first_step:
    logging.info('Resumed %s at step %d of %d.', run_dir, first_step, num_steps)
  kept = (writers.restart_history(run_dir, first_step, final=first_step == num_steps)
          if jax.process_index() == 0 else [])

  # ---- Input ----
  train_iterator = pipeline.make_iterator(
      pipeline.train_dataset(train_source, train_transform, seed=config.seed,
                             global_batch_size=config.batch_size, num_steps=num_steps,
                             start_batch=first_step),
      num_workers=config.data.num_workers, prefetch=config.data.prefetch)
  writer = writers.create_writer(run_dir)
  evaluate_at = evaluator_lib.SelectionEvaluator(
      config, eval_step=run_programs.eval_step, sources=eval_sources, transform=eval_transform,
      mesh=mesh, writer=writer, run_dir=run_dir, num_steps=num_steps,
      steps_per_epoch=steps_per_epoch, best=data_state.get(BEST_SCORES, {}),
      start_time=start_time, on_evaluation=on_evaluation)

  # ---- Train ----
  save_steps = _steps_at(config, 'checkpoint_every_steps', num_steps)
  log_steps = _steps_at(config, 'log_every_steps', num_steps)
  eval_steps = _eval_steps(config, steps_per_epoch, num_steps)
  train_metrics = _TrainMetrics(writer, num_steps, config.batch_size, steps_per_epoch)
  train_metrics.last_loss = next((r['train/loss'] for r in reversed(kept)
                                  if 'train/loss' in r), None)
  report_progress = periodic_actions.ReportProgress(num_train_steps=num_steps, writer=writer)
  batch_sharding = mesh_lib.batch_sharding(mesh)

  stop_requested = interrupt.StopRequest(manager).install()
  saver = checkpoint.Saver(manager)
  try:
    for step in range(first_step + 1, num_steps + 1):
      wait_start = time.perf_counter()
      local_batch = next(train_iterator)
      train_metrics.input_seconds += time.perf_counter() - wait_start
      state, metrics = train_step(state, pipeline.global_batch(local_batch, batch_sharding))
      train_metrics.add(step, metrics)
      report_progress(step)
      # A save that failed in the background stops the run now (orbax reads its error flag and
      # waits on its metadata writes).
      saver.check()
      stop = stop_requested(step)
      if step in log_steps or step in save_steps or step in eval_steps or stop:
        train_metrics.flush(manager.latest_step(), checkpoint_dir)
      if step in eval_steps:  # before the save: its step is evaluated, its best scores kept
        evaluate_at(step, state)
      if step in save_steps or stop:
        saver.save(state, {'next_batch': step, BEST_SCORES: evaluate_at.best})
      if stop:
        saver.wait()
        writer.flush()
        stop_requested.exit(checkpoint_dir, step, num_steps)
    saver.wait()
  except BaseException as e:
    # The error that stopped the run is the one raised; the metrics written so far are kept.
    with contextlib.suppress(Exception):
      manager.wait_until_finished()
    with contextlib.suppress(Exception):
      writer.flush()
    if checkpoint.disk_full(e) and not isinstance(e, checkpoint.CheckpointWriteError):
      raise saver.failure(e) from None
    raise
  finally:
    stop_requested.uninstall()
  writer.flush()
  if stop_requested.reason is not None:  # signalled after the last step's check
    stop_requested.exit(checkpoint_dir, num_steps, num_steps)

  # ---- Final evaluation ----
  scores, outputs = evaluate_at(num_steps, state)
  writer.close()
  manager.close()
  return RunResult(run_dir=run_dir, step=num_steps, num_train_steps=num_steps,
                   train_loss=train_metrics.last_loss, scores=scores, outputs=outputs,
                   wall_seconds=time.time() - start_time)
