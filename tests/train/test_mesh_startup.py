"""Multi-host start-up: the launcher's environment gives the coordinator, process id and count.

No cluster: `jax.distributed.initialize` is replaced by a recorder that resolves its arguments
the way JAX does (`ClusterEnv.auto_detect_unset_distributed_params`, what `initialize` calls).
The expected values are worked out by hand from the SLURM / Open MPI variables and a Cloud
TPU VM's metadata server (replaced by a dict).
"""
import jax
from jax._src import clusters  # what jax.distributed.initialize resolves its arguments with
from jax._src.clusters import cloud_tpu_cluster
from jax._src.clusters import cluster
import pytest

from jaxrobust.train import mesh

# Variables these tests set or that would change the detection: cleared first.
_LAUNCHER_VARS = ('SLURM_JOB_ID', 'SLURM_STEP_NODELIST', 'SLURM_NTASKS', 'SLURM_PROCID',
                  'SLURM_LOCALID', 'SLURM_STEP_NUM_NODES', 'OMPI_MCA_orte_hnp_uri',
                  'OMPI_COMM_WORLD_SIZE', 'OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_LOCAL_RANK',
                  'TPU_WORKER_HOSTNAMES', 'JAX_COORDINATOR_ADDRESS', 'JAX_NUM_PROCESSES',
                  'JAX_PROCESS_ID', 'JAX_COORDINATOR_PORT', 'SLURM_STEP_ID',
                  'SLURM_STEP_NUM_TASKS', 'SLURM_STEP_TASKS_PER_NODE', 'SLURM_NODEID',
                  'CUDA_VISIBLE_DEVICES', 'JAXROBUST_MULTIHOST', 'TPU_SKIP_MDS_QUERY',
                  'MEGASCALE_COORDINATOR_ADDRESS', 'MEGASCALE_NUM_SLICES', 'MEGASCALE_SLICE_ID')
# srun -N4 -n8 in job 4242 (step 0): task 5, the second task on its node.
SLURM = {'SLURM_JOB_ID': '4242', 'SLURM_STEP_NODELIST': 'gpu[007-010],login1',
         'SLURM_NTASKS': '8', 'SLURM_PROCID': '5', 'SLURM_LOCALID': '1',
         'SLURM_STEP_NUM_NODES': '4', 'SLURM_STEP_ID': '0', 'SLURM_STEP_NUM_TASKS': '8'}
# port = 4242 % 2**12 + 65535 - 2**12 + 1 = 146 + 61440; host = the node list's first node.
SLURM_EXPECTED = ('gpu007:61586', 8, 5, [1])
# mpirun -np 4: rank 3, the second rank on its host (Open MPI 4 variables).
OMPI = {'OMPI_MCA_orte_hnp_uri': '1531576320.0;tcp://10.96.0.1,10.148.0.1:34911',
        'OMPI_COMM_WORLD_SIZE': '4', 'OMPI_COMM_WORLD_RANK': '3',
        'OMPI_COMM_WORLD_LOCAL_RANK': '1'}
# port = (1531576320 // 2**12) % 2**12 + 61440 = 1184 + 61440; host = the launcher's first IP.
OMPI_EXPECTED = ('10.96.0.1:62624', 4, 3, [1])


@pytest.fixture
def initialize_calls(monkeypatch) -> list[tuple]:
  """The (coordinator, count, id, local devices) each initialize() call would start with."""
  for name in _LAUNCHER_VARS:
    monkeypatch.delenv(name, raising=False)
  calls = []

  def initialize(coordinator_address=None, num_processes=None, process_id=None,
                 local_device_ids=None):
    calls.append(clusters.ClusterEnv.auto_detect_unset_distributed_params(
        coordinator_address, num_processes, process_id, local_device_ids, None, 300))
  monkeypatch.setattr(jax.distributed, 'initialize', initialize)
  monkeypatch.setattr(jax.distributed, 'is_initialized', lambda: False)
  collectives = jax.config.jax_cpu_collectives_implementation
  yield calls
  jax.config.update('jax_cpu_collectives_implementation', collectives)


@pytest.mark.parametrize('env,expected', [(SLURM, SLURM_EXPECTED), (OMPI, OMPI_EXPECTED)],
                         ids=['slurm', 'open_mpi'])
def test_a_launchers_environment_gives_coordinator_process_id_and_count(
    env, expected, initialize_calls, monkeypatch):
  for name, value in env.items():
    monkeypatch.setenv(name, value)
  mesh.initialize_distributed()
  (call,) = initialize_calls
  assert (call[0], call[1], call[2], list(call[3])) == expected


def test_explicit_variables_name_the_coordinator_process_id_and_count(
    initialize_calls, monkeypatch):
  monkeypatch.setenv('JAX_COORDINATOR_ADDRESS', 'localhost:1234')
  monkeypatch.setenv('JAX_NUM_PROCESSES', '2')
  monkeypatch.setenv('JAX_PROCESS_ID', '1')
  monkeypatch.setenv('SLURM_NTASKS', '8')  # explicit variables win over a launcher's
  mesh.initialize_distributed()
  assert initialize_calls == [('localhost:1234', 2, 1, None)]


@pytest.mark.parametrize('env', [{'SLURM_NTASKS': '1'}, {'OMPI_COMM_WORLD_SIZE': '1'}, {}],
                         ids=['slurm', 'open_mpi', 'nothing'])
def test_a_single_process_does_not_start_the_distributed_runtime(env, initialize_calls,
                                                                 monkeypatch):
  for name, value in env.items():
    monkeypatch.setenv(name, value)
  mesh.initialize_distributed()
  assert initialize_calls == []


# The batch script of `sbatch --ntasks=8`: SLURM_NTASKS is there, but no srun step started peers.
SLURM_BATCH_SCRIPT = {k: v for k, v in SLURM.items() if not k.startswith('SLURM_STEP')}


@pytest.mark.parametrize('env', [
    SLURM_BATCH_SCRIPT,
    {**SLURM_BATCH_SCRIPT, 'SLURM_STEP_ID': '4294967291'},  # a batch step that names itself
    {**SLURM, 'SLURM_STEP_NUM_TASKS': '1', 'SLURM_NTASKS': '1'}],
    ids=['batch_script', 'batch_step_id', 'srun_one_task'])
def test_slurm_joins_only_under_srun_with_peers(env, initialize_calls, monkeypatch):
  for name, value in env.items():
    monkeypatch.setenv(name, value)
  mesh.initialize_distributed()
  assert initialize_calls == []


@pytest.mark.parametrize('layout,expected', [
    ({'SLURM_STEP_TASKS_PER_NODE': '1(x4)', 'CUDA_VISIBLE_DEVICES': '0,1,2,3,4,5,6,7',
      'SLURM_LOCALID': '0', 'SLURM_NODEID': '2'}, list(range(8))),  # one task per node
    ({'SLURM_STEP_TASKS_PER_NODE': '8(x4)', 'CUDA_VISIBLE_DEVICES': '0,1,2,3,4,5,6,7',
      'SLURM_LOCALID': '5', 'SLURM_NODEID': '2'}, [5]),  # one per GPU, all GPUs visible
    ({'SLURM_STEP_TASKS_PER_NODE': '8(x4)', 'CUDA_VISIBLE_DEVICES': '5',
      'SLURM_LOCALID': '5', 'SLURM_NODEID': '2'}, [0]),  # one per GPU, bound by --gpus-per-task
    ({'SLURM_STEP_TASKS_PER_NODE': '4,2', 'CUDA_VISIBLE_DEVICES': '0,1,2,3',
      'SLURM_LOCALID': '1', 'SLURM_NODEID': '1'}, [2, 3]),  # two tasks, two GPUs each
], ids=['per_node', 'per_gpu', 'per_gpu_bound', 'uneven'])
def test_srun_tasks_use_the_gpus_they_own(layout, expected, initialize_calls, monkeypatch):
  for name, value in {**SLURM, **layout}.items():
    monkeypatch.setenv(name, value)
  mesh.initialize_distributed()
  (call,) = initialize_calls
  assert list(call[3]) == expected


# Worker 2 of a v4-32 slice (4 hosts) made by `gcloud compute tpus tpu-vm create`.
TPU_METADATA = {'agent-worker-number': '2', 'tpu-env': "ACCELERATOR_TYPE: 'v4-32'\n",
                'worker-network-endpoints': '10.130.0.3,10.130.0.4,10.130.0.5,10.130.0.6'}


@pytest.fixture
def on_a_tpu_vm(monkeypatch):
  """A Cloud TPU VM worker whose metadata server answers with TPU_METADATA."""
  for module in (cloud_tpu_cluster, cluster):
    monkeypatch.setattr(module, 'running_in_cloud_tpu_vm', True)
  monkeypatch.setattr(cloud_tpu_cluster, 'get_metadata', lambda key: (TPU_METADATA[key], 200))


def test_every_worker_of_a_tpu_slice_joins_when_the_launcher_says_so(
    on_a_tpu_vm, initialize_calls, monkeypatch):
  del on_a_tpu_vm
  monkeypatch.setenv('JAXROBUST_MULTIHOST', '1')
  mesh.initialize_distributed()
  assert initialize_calls == [('10.130.0.3:8482', 4, 2, None)]  # worker 0 coordinates


def test_a_tpu_vm_without_the_launchers_variable_runs_alone(on_a_tpu_vm, initialize_calls):
  del on_a_tpu_vm
  mesh.initialize_distributed()
  assert initialize_calls == []
