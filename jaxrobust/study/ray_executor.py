"""The Ray executor (`--executor=ray`): every planned run of a study is one task of a Ray cluster.

Ray does the scheduling. Each run asks for the resources its config names (`config.resources`,
else its kind's default: `task_resources`); a fine-tune's task takes its pre-training's task as
an argument, so it starts once that one finished; the datasets are prepared by a task before
any run is submitted. A task whose worker or node dies (preemption, OOM kill, a lost node) is
retried by Ray, at most MAX_RETRIES times, and resumes from the run's last checkpoint (the
engine's exact resume; it saves one on SIGTERM). A run failing for a reason of its own (an
exception: a bad config, a NaN loss) is not retried: it is reported, the rest goes on.

Tasks execute the local executor's code (jaxrobust.study.stages), so run ids, files and numbers
are the same. Every node must see the workdir and data dir at the same path (gs://, NFS).
"""
import contextlib
import logging as pylogging
import os
import socket
from typing import Any

import ml_collections
import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

import jaxrobust
from jaxrobust import cli
from jaxrobust import errors
from jaxrobust import user_modules
from jaxrobust import xla_flags
from jaxrobust.study import stages
from jaxrobust.study import state as state_lib
from jaxrobust.study.plan import PlannedRun
from jaxrobust.study.progress import StudyProgress

MAX_RETRIES = 5         # per task, for dead workers and nodes; every retry resumes, none restarts
POLL_SECONDS = 2.0      # how often the driver asks which runs started
CONNECT_SECONDS = 5.0   # an address that does not answer in this time is an error
_ACCELERATORS = ('TPU', 'GPU')
_TPU_CHIPS_PER_TASK = (1, 2, 4, 8)  # what Ray can bind to one task: chips of one host
_CORES_PER_CHIP = {'v2': 2, 'v3': 2, 'v4': 2, 'v5p': 2}  # in accelerator type names; else 1


def runtime_env(imports: str | None = None) -> dict[str, Any]:
  """The job's runtime env: workers import the driver's jaxrobust (ids and numbers match) and
  the packages of the user's modules (`imports`) the driver imported."""
  return {'py_modules': [os.path.dirname(jaxrobust.__file__),
                         *user_modules.package_dirs(imports)],
          'excludes': ['__pycache__']}


def task_resources(config: ml_collections.ConfigDict, node: dict[str, float]) -> dict[str, Any]:
  """Ray task options of one run: its `config.resources`, else its kind's default on `node`.

  `node`: the largest resources one node of the cluster has ({'CPU': 96, 'GPU': 8}). By
  default pre-training takes all of a node's GPUs or TPU chips and a fine-tune or scratch run
  one of them. Without accelerators every run takes a node's CPUs: they are JAX's one CPU
  device, whose XLA threads use every core (set `resources.cpus` to pack runs).
  """
  wanted = config.resources
  for field in ('cpus', 'gpus', 'tpus'):
    if wanted[field] is not None and wanted[field] < 0:
      raise errors.ConfigError(f'config.{config.kind}.resources.{field}={wanted[field]}: give '
                               'a count >= 0, or None for the default of its kind.')
  accelerator = next((a for a in _ACCELERATORS if node.get(a)), None)

  def amount(field: str, resource: str) -> float:
    if wanted[field] is not None:
      return wanted[field]
    if resource == 'CPU':
      return node.get('CPU', 1)
    if resource != accelerator:
      return 0
    return node[resource] if config.kind == 'pretrain' else 1

  gpus, tpus = amount('gpus', 'GPU'), amount('tpus', 'TPU')
  if not gpus and not tpus:
    return {'num_cpus': amount('cpus', 'CPU')}
  options = {'num_cpus': wanted.cpus if wanted.cpus is not None else 1}
  if gpus:
    options['num_gpus'] = gpus
  if tpus:
    _check_tpu_chips(config, tpus, node)
    options['resources'] = {'TPU': tpus}
  return options


def _slice_chips(node: dict[str, float]) -> tuple[str, int] | None:
  """('v4-16', 8): the TPU slice type and chip count Ray names on a slice's first host."""
  for resource in node:
    if resource.startswith('TPU-') and resource.endswith('-head'):
      pod_type = resource.removeprefix('TPU-').removesuffix('-head')
      generation, _, cores = pod_type.rpartition('-')
      return pod_type, int(cores) // _CORES_PER_CHIP.get(generation, 1)
  return None


def _check_tpu_chips(config: ml_collections.ConfigDict, chips: float,
                     node: dict[str, float]) -> None:
  """Refuses TPU requests Ray cannot place on one host, and runs that would span a pod slice."""
  field = f'config.{config.kind}.resources.tpus={chips:g}'
  host_chips = node.get('TPU', 0)
  if chips not in _TPU_CHIPS_PER_TASK or chips > host_chips:
    raise errors.ConfigError(f'{field}: Ray gives a task 1, 2, 4 or 8 TPU chips of one host '
                             f'(here at most {host_chips:g}); for a run across the hosts of a '
                             'TPU pod slice use launch/tpu_vm.sh.')
  pod = _slice_chips(node)
  if pod and pod[1] > host_chips and chips == host_chips:
    raise errors.ConfigError(f'{field}: a whole host of a multi-host {pod[0]} slice would start '
                             'JAX on every host of the slice, which Ray does not place; run '
                             'multi-host training with launch/tpu_vm.sh, or build the Ray '
                             'cluster from single-host TPU VMs.')


def largest_node() -> dict[str, float]:
  """Per resource, the most that one alive node of the connected cluster has."""
  node = {}
  for info in ray.nodes():
    if info['Alive']:
      for resource, amount in info['Resources'].items():
        node[resource] = max(node.get(resource, 0), amount)
  return node


@ray.remote(num_cpus=0)
class _Starts:
  """Where runs started since the driver last asked (tasks tell it, the driver polls it)."""

  def __init__(self):
    self._new = []

  def add(self, run_id: str, where: str) -> None:
    self._new.append((run_id, where))

  def take(self) -> list[tuple[str, str]]:
    new, self._new = self._new, []
    return new


def _where() -> str:
  """'10.0.0.2 pid 4242 GPU 0,1': the node, process and accelerators of the calling task."""
  ids = ray.get_runtime_context().get_accelerator_ids()
  return ' '.join([ray.util.get_node_ip_address(), f'pid {os.getpid()}',
                   *(f'{name} {",".join(v)}' for name, v in sorted(ids.items()) if v)])


def _start_task(imports: str) -> None:
  """What jaxrobust.main does first: its console logging, XLA flags before jax starts, the
  user's dataset modules."""
  cli.worker_logging()
  xla_flags.use_tuned_cpu_flags()
  user_modules.load(imports)


def _prepare_datasets(needs: list[dict[str, Any]], data_dir: str, workdir: str,
                      with_engine: bool, imports: str) -> None:
  _start_task(imports)
  if with_engine:
    stages.use_engine(workdir)
  stages.prepare_data(needs, data_dir)


def _run_planned(config: ml_collections.ConfigDict, run: PlannedRun, workdir: str,
                 train_fn: stages.TrainFn | None, starts, *after) -> stages.RunOutcome:
  del after  # the pre-training task this fine-tune waited for
  _start_task(config.get('imports'))
  starts.add.remote(run.run_id, _where())
  if state_lib.run_state(run, workdir) == 'finished':  # a retry after the marker was written
    return stages.RunOutcome(seconds=0.0, resumed_at=None)
  return stages.execute_run(run, workdir, stages.train_fn_for(config, run, workdir, train_fn))


def _tasks(fn):
  """`fn` as two Ray tasks: one reuses worker processes, one gets a fresh process per call.

  Tasks on accelerators take the second: JAX binds the devices it sees when it starts, and
  frees their memory only when its process ends. retry_exceptions stays False: Ray retries
  dead workers and nodes, never a run's own error.
  """
  return (ray.remote(max_retries=MAX_RETRIES)(fn),
          ray.remote(max_retries=MAX_RETRIES, max_calls=1)(fn))


_PREPARE_TASKS = _tasks(_prepare_datasets)
_RUN_TASKS = _tasks(_run_planned)


def _task(tasks, options: dict[str, Any]):
  """The task of `tasks` for `options`, with them: a fresh process when it uses accelerators."""
  return tasks['num_gpus' in options or 'resources' in options].options(**options)


class RayExecutor(contextlib.AbstractContextManager):
  """Runs a study's runs as Ray tasks; connects on creation, disconnects on exit.

  `address`: None starts a local cluster (or joins $RAY_ADDRESS), 'auto' joins the cluster
  this machine belongs to, HOST:PORT the head node there. A driver already connected (e.g. a
  notebook's `ray.init()`) is used as it is. `imports`: the study's user modules, imported by
  every task (and their packages shipped with the job).
  """

  def __init__(self, address: str | None, imports: str | None = None):
    self._imports = imports or ''
    self._connected_here = not ray.is_initialized()
    if self._connected_here:
      _connect(address, self._imports)
    self._node = largest_node()
    if not any(self._node.get(r) for r in ('CPU', *_ACCELERATORS)):
      raise errors.UserError('the Ray cluster has no node with CPUs or accelerators yet (are its '
                             'workers still starting? `ray status` lists them); rerun then.')
    alive = sum(n['Alive'] for n in ray.nodes())
    totals = ray.cluster_resources()
    print(f'study: Ray cluster of {alive} nodes: ' + ', '.join(
        f'{totals[r]:g} {r}' for r in ('CPU', 'GPU', 'TPU') if totals.get(r)), flush=True)

  def __exit__(self, *exc_info) -> None:
    if self._connected_here:
      ray.shutdown()

  def prepare(self, needs: list[dict[str, Any]], data_dir: str, workdir: str, *,
              with_engine: bool) -> None:
    """Prepares the datasets in one task on the cluster, before any run is submitted."""
    fresh = any(self._node.get(a) for a in _ACCELERATORS)  # jax may pick the node's devices
    _get(_PREPARE_TASKS[fresh].remote(needs, data_dir, workdir, with_engine, self._imports))

  def run(self, config: ml_collections.ConfigDict, todo: list[PlannedRun], workdir: str,
          progress: StudyProgress, train_fn: stages.TrainFn | None
          ) -> tuple[dict[str, stages.RunOutcome], dict[str, str]]:
    """Submits every run of `todo`, then reports them as they start, finish or fail."""
    resources = {run.run_id: task_resources(run.config, self._node) for run in todo}  # checked
    here = ray.get_runtime_context().get_node_id()
    starts = _Starts.options(
        scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=False)).remote()
    refs = {}
    for run in todo:
      after = [refs[run.pretrain_id]] if run.pretrain_id in refs else []
      task = _task(_RUN_TASKS, {'name': run.run_id, **resources[run.run_id]})
      refs[run.run_id] = task.remote(config, run, workdir, train_fn, starts, *after)
    pending = {refs[run.run_id]: run for run in todo}
    outcomes, failures = {}, {}
    while pending:
      # In plan order, one at a time: a pre-training is handled before its fine-tunes.
      ready, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_SECONDS)
      started = ray.get(starts.take.remote())
      for run_id, where in started:
        progress.started(run_id, where)
        print(f'study: running {run_id} on {where}', flush=True)
      for ref in ready:
        run = pending.pop(ref)
        where = progress.running.get(run.run_id)
        at = f' on {where}' if where else ''
        try:
          outcomes[run.run_id] = ray.get(ref)
        except ray.exceptions.RayError as e:
          failures[run.run_id] = _failure(e, run, refs, outcomes)
          progress.failed(run, failures[run.run_id])
          print(f'study: FAILED {run.run_id}{at}: {failures[run.run_id]}', flush=True)
        else:
          progress.finished(run, outcomes[run.run_id].seconds)
          print(outcomes[run.run_id].line(run.run_id, where), flush=True)
      if started or ready:
        print(progress.line(), flush=True)
    return outcomes, failures


def _connect(address: str | None, imports: str) -> None:
  """ray.init for a study; an address where no cluster answers is a one-line UserError."""
  if address not in (None, 'auto'):
    _check_reachable(address)
  try:
    ray.init(address=address, runtime_env=runtime_env(imports), logging_level=pylogging.WARNING,
             **({'include_dashboard': False} if address is None else {}))
  except ConnectionError as e:
    raise errors.UserError(f'--ray_address={address}: {str(e).splitlines()[0]} Start a cluster '
                           '(see docs/scaling.md) or drop the flag for a local one.') from None


def _check_reachable(address: str) -> None:
  """Refuses HOST:PORT (or ray://HOST:PORT) unless something listens there (ray.init would hang)."""
  host, _, port = address.removeprefix('ray://').rpartition(':')
  if not host or not port.isdigit():
    raise errors.UserError(f'--ray_address={address}: give auto or HOST:PORT of the head node '
                           '(`ray start --head` prints it).')
  try:
    socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS).close()
  except OSError as e:
    raise errors.UserError(
        f'--ray_address={address}: no Ray cluster answers there ({e.strerror or "timed out"}); '
        'start one (`ray start --head`, launch/ray_tpu.yaml, launch/ray_slurm.sbatch) or use '
        '--ray_address=auto on a node of the cluster.') from None


def _failure(error: ray.exceptions.RayError, run: PlannedRun, refs: dict[str, Any],
             outcomes: dict[str, stages.RunOutcome]) -> str:
  """One line saying why the run failed."""
  if run.pretrain_id in refs and run.pretrain_id not in outcomes:
    return f'not run: its pre-training {run.pretrain_id} failed'
  cause = getattr(error, 'cause', None)
  if cause is not None:  # the run raised it: its own error, not retried
    return f'{type(cause).__name__}: {errors.one_line(cause)}'
  return f'{type(error).__name__} (after {MAX_RETRIES} retries): {errors.one_line(error)}'


def _get(ref: ray.ObjectRef) -> Any:
  """ray.get, re-raising a task's UserError as itself (the CLI prints its one line)."""
  try:
    return ray.get(ref)
  except ray.exceptions.RayTaskError as e:
    if isinstance(e.cause, errors.UserError):
      raise e.cause from None
    raise
