"""Distributed start-up and the one device mesh: batch on axis `data`, params replicated."""
import os

from absl import logging
import jax
from jax.sharding import Mesh, NamedSharding, PartitionSpec
import numpy as np

from jaxrobust.errors import ConfigError

DATA_AXIS = 'data'


def _cluster_processes() -> int:
  """Number of processes an auto-detectable launcher (SLURM, Open MPI, TPU pod) started."""
  if 'SLURM_NTASKS' in os.environ:
    return int(os.environ['SLURM_NTASKS'])
  if 'OMPI_COMM_WORLD_SIZE' in os.environ:
    return int(os.environ['OMPI_COMM_WORLD_SIZE'])
  hostnames = os.environ.get('TPU_WORKER_HOSTNAMES', '')
  return len(hostnames.split(',')) if hostnames else 1


def initialize_distributed() -> None:
  """Joins the other processes with `jax.distributed.initialize()` when there are any.

  Explicit set-up (e.g. several processes on one machine): JAX_COORDINATOR_ADDRESS
  (host:port), JAX_NUM_PROCESSES and JAX_PROCESS_ID. Otherwise SLURM, Open MPI and
  multi-host TPU VMs are detected by JAX itself. A single process does nothing.
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
