"""JAX's multi-process runtime for ``JaxTrainer``: start it, barriers, gathering host values.

Every process (one per host, each with its local GPUs) runs the same ``tfdeepfake train
--backend jax`` command with its own ``--process-id``; ``jax.distributed.initialize`` joins
them through the coordinator (process 0's ``HOST:PORT``) before any JAX device is used, and
``jax.devices()`` then lists every process's devices. ``coordinator="auto"`` leaves the
coordinator, the process count and the process id to JAX's cluster detection: SLURM
(``SLURM_JOB_ID``, ``SLURM_NTASKS``, ``SLURM_PROCID``, ``SLURM_LOCALID``,
``SLURM_STEP_NODELIST``), Open MPI (``OMPI_MCA_orte_hnp_uri``, ``OMPI_COMM_WORLD_SIZE``,
``OMPI_COMM_WORLD_RANK``, ``OMPI_COMM_WORLD_LOCAL_RANK``), Cloud TPU VMs and Kubernetes
(JobSet); ``JAX_COORDINATOR_ADDRESS`` is read when no coordinator is given. On CPU the
cross-process collectives are JAX's default, gloo.
"""

from __future__ import annotations

import jax
import numpy as np


def start_processes(coordinator: str, num_processes: int, process_id: int) -> None:
    """Join the run's processes (``DistributedConfig``); nothing for a single process.

    ``num_processes`` 0 and ``process_id`` -1 mean "from the cluster's environment". A
    process that already joined with the same settings (a second ``train`` call) keeps its
    runtime; anything else raises a ``ValueError`` naming the setting and the fix.
    """
    if not coordinator:
        return
    wanted_count = num_processes or None
    wanted_id = None if process_id < 0 else process_id
    if jax.distributed.is_initialized():
        if (wanted_count in (None, jax.process_count())
                and wanted_id in (None, jax.process_index())):
            return
        raise ValueError(
            f"distributed: this process already joined a run as process {jax.process_index()} "
            f"of {jax.process_count()}; it cannot join as {process_id} of {num_processes}: "
            "start a new process for the new run."
        )
    try:
        jax.distributed.initialize(
            coordinator_address=None if coordinator == "auto" else coordinator,
            num_processes=wanted_count,
            process_id=wanted_id,
        )
    except (RuntimeError, ValueError) as err:
        raise ValueError(
            f"distributed.coordinator={coordinator!r}: JAX's multi-process runtime did not "
            f"start ({err}). Pass --coordinator HOST:PORT of process 0 with --num-processes "
            "and --process-id on every process (or 'auto' inside SLURM / Open MPI / Cloud "
            "TPU), in a fresh process that has not used JAX yet."
        ) from err


def barrier(name: str) -> None:
    """Wait until every process reaches the barrier ``name`` (nothing for one process)."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)


def gather_rows(values: np.ndarray) -> np.ndarray:
    """Every process's 1-D ``values`` concatenated in process order (the lengths may
    differ); ``values`` itself for one process."""
    values = np.asarray(values)
    if jax.process_count() == 1:
        return values
    from jax.experimental import multihost_utils

    lengths = np.asarray(multihost_utils.process_allgather(np.int64(len(values)))).reshape(-1)
    padded = np.zeros(max(int(lengths.max()), 1), values.dtype)
    padded[: len(values)] = values
    rows = np.asarray(multihost_utils.process_allgather(padded)).reshape(len(lengths), -1)
    return np.concatenate([row[:n] for row, n in zip(rows, lengths)])
