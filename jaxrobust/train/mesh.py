"""Distributed start-up and the one device mesh: batch on axis `data`, params replicated."""
import os

from absl import logging
import jax
from jax.sharding import Mesh, NamedSharding, PartitionSpec
import numpy as np

from jaxrobust.errors import ConfigError

DATA_AXIS = 'data'
MULTIHOST_VAR = 'JAXROBUST_MULTIHOST'  # launch/tpu_vm.sh sets it to 1 on every TPU VM worker


def _srun_tasks() -> int:
  """Tasks of this SLURM job step when started by srun; 1 in the batch script or outside SLURM.

  A plain process inside a multi-task allocation has SLURM_NTASKS too, but no peers: only an
  srun step (SLURM_STEP_ID, SLURM_STEP_NUM_TASKS) starts them.
  """
  if 'SLURM_STEP_ID' not in os.environ:
    return 1
  return int(os.environ.get('SLURM_STEP_NUM_TASKS', '1'))


def _tasks_on_this_node() -> int:
  """This node's task count from SLURM_STEP_TASKS_PER_NODE ('8(x2),4': 8, 8, 4 by node)."""
  counts = []
  for part in os.environ['SLURM_STEP_TASKS_PER_NODE'].split(','):
    count, _, repeat = part.partition('(x')
    counts += [int(count)] * int(repeat.rstrip(')') or 1)
  return counts[int(os.environ.get('SLURM_NODEID', '0'))]


def _slurm_local_device_ids() -> list[int] | None:
  """This task's GPUs: all it sees when they are bound to it, else its share by SLURM_LOCALID.

  None (JAX's default, the device SLURM_LOCALID) without CUDA_VISIBLE_DEVICES or a task layout.
  """
  visible = os.environ.get('CUDA_VISIBLE_DEVICES')
  if not visible or 'SLURM_STEP_TASKS_PER_NODE' not in os.environ:
    return None
  gpus, tasks = len(visible.split(',')), _tasks_on_this_node()
  if gpus < tasks:  # --gpus-per-task / --gpu-bind: each task sees only its own GPUs
    return list(range(gpus))
  share = gpus // tasks
  first = int(os.environ['SLURM_LOCALID']) * share
  return list(range(first, first + share))


def _cluster_processes() -> int:
  """Number of processes Open MPI or a GKE TPU pod started (JAX detects both)."""
  if 'OMPI_COMM_WORLD_SIZE' in os.environ:
    return int(os.environ['OMPI_COMM_WORLD_SIZE'])
  hostnames = os.environ.get('TPU_WORKER_HOSTNAMES', '')
  return len(hostnames.split(',')) if hostnames else 1


def initialize_distributed() -> None:
  """Joins the other processes with `jax.distributed.initialize()` when there are any.

  Explicit set-up (e.g. several processes on one machine): JAX_COORDINATOR_ADDRESS
  (host:port), JAX_NUM_PROCESSES and JAX_PROCESS_ID. On Cloud TPU VMs the launcher sets
  JAXROBUST_MULTIHOST=1 and JAX finds the slice's workers through the metadata server. SLURM
  joins only under srun, with all the GPUs a task owns; Open MPI and GKE TPU pods are detected
  by JAX itself. A single process does nothing.
  """
  if jax.distributed.is_initialized():
    return
  if 'JAX_NUM_PROCESSES' in os.environ and int(os.environ['JAX_NUM_PROCESSES']) > 1:
    # Cross-process collectives between CPU devices (used only by the CPU backend).
    jax.config.update('jax_cpu_collectives_implementation', 'gloo')
    jax.distributed.initialize(
        coordinator_address=os.environ['JAX_COORDINATOR_ADDRESS'],
        num_processes=int(os.environ['JAX_NUM_PROCESSES']),
        process_id=int(os.environ['JAX_PROCESS_ID']))
  elif os.environ.get(MULTIHOST_VAR) == '1':
    jax.distributed.initialize()
  elif _srun_tasks() > 1:
    jax.distributed.initialize(local_device_ids=_slurm_local_device_ids())
  elif _cluster_processes() > 1:
    jax.distributed.initialize()
  else:
    return
  logging.info('Process %d of %d; %d local of %d devices.', jax.process_index(),
               jax.process_count(), jax.local_device_count(), jax.device_count())


def make_mesh() -> Mesh:
  """A 1-D mesh over every device of every process, axis `data`."""
  return Mesh(np.asarray(jax.devices()), (DATA_AXIS,))


def batch_sharding(mesh: Mesh) -> NamedSharding:
  """Leading (batch) axis split over `data`."""
  return NamedSharding(mesh, PartitionSpec(DATA_AXIS))


def replicated_sharding(mesh: Mesh) -> NamedSharding:
  """A full copy on every device."""
  return NamedSharding(mesh, PartitionSpec())


def replicate(tree, mesh: Mesh):
  """Host values (identical on every process) -> fully replicated global arrays."""
  sharding = replicated_sharding(mesh)

  def put(x):
    x = np.asarray(x)
    return jax.make_array_from_callback(x.shape, sharding, lambda index: x[index])
  return jax.tree.map(put, tree)


def check_global_batch_size(batch_size: int, field: str) -> None:
  """The global batch must split evenly over devices and processes."""
  devices = jax.device_count()
  if batch_size <= 0 or batch_size % devices:
    raise ConfigError(f'{field}={batch_size} must be a positive multiple of the number '
                      f'of devices ({devices}); set {field} accordingly.')
