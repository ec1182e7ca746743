"""Strategy factory: one string -> a ``tf.distribute`` strategy, plus the mixed-precision policy.

- ``default``: the default strategy (one device: the GPU if there is one, else the CPU).
- ``mirrored``: ``MirroredStrategy`` over every local GPU (or every logical CPU device).
- ``multi_worker``: ``MultiWorkerMirroredStrategy``; the cluster comes from ``TF_CONFIG``
  (``{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": i}}``);
  every worker runs the same command.
- ``tpu``: ``TPUStrategy`` through ``TPUClusterResolver(tpu=...)`` (Cloud TPU VM: ``""``;
  a TPU node: its name or ``grpc://`` address). Not testable on this project's machines.
"""

from __future__ import annotations

import json
import os

import tensorflow as tf


def make_strategy(name: str = "default", tpu: str = "") -> tf.distribute.Strategy:
    """Build the ``tf.distribute`` strategy called ``name`` (see the module docstring)."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if name == "multi_worker":
        if not os.environ.get("TF_CONFIG"):
            raise ValueError(
                "--strategy multi_worker needs TF_CONFIG in the environment of every worker, e.g. "
                'TF_CONFIG=\'{"cluster": {"worker": ["host1:2222", "host2:2222"]}, '
                '"task": {"type": "worker", "index": 0}}\'.'
            )
        try:
            json.loads(os.environ["TF_CONFIG"])
        except json.JSONDecodeError as err:
            raise ValueError(f"TF_CONFIG is not valid JSON ({err}): fix the variable.") from None
        _configure_coordination(tf.distribute.cluster_resolver.TFConfigClusterResolver())
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise ValueError(f"Unknown strategy {name!r}; choose default, mirrored, multi_worker or tpu.")


def _configure_coordination(resolver, heartbeat_timeout_s: int = 600) -> None:
    """Start TF's coordination service as ``MultiWorkerMirroredStrategy`` would, but with a long
    heartbeat timeout: a worker busy tracing on an oversubscribed CPU for more than the default
    few seconds otherwise aborts the collectives with DEADLINE_EXCEEDED."""
    # TF-internal modules (TensorFlow is pinned to 2.21): the strategy's own proto import.
    from tensorflow.python.distribute import collective_all_reduce_strategy as tf_strategy
    from tensorflow.python.distribute import multi_worker_util
    from tensorflow.python.eager import context

    coordination_config_pb2 = tf_strategy.coordination_config_pb2
    spec = resolver.cluster_spec()
    if context.context().coordination_service is not None or resolver.task_type not in (
        "chief",
        "worker",
    ):
        return
    jobs = [
        coordination_config_pb2.CoordinatedJob(name=job, num_tasks=spec.num_tasks(job))
        for job in ("chief", "worker")
        if job in spec.jobs
    ]
    context.context().configure_coordination_service(
        service_type="standalone",
        service_leader=multi_worker_util.coordination_leader(spec),
        coordinated_jobs=jobs,
        heartbeat_timeout_in_ms=heartbeat_timeout_s * 1000,
    )


def worker_info(strategy: tf.distribute.Strategy) -> tuple[int, int]:
    """(this worker's index, number of workers); (0, 1) unless multi-worker."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and resolver is not None:
        workers = resolver.cluster_spec().as_dict().get("worker", [None])
        return int(resolver.task_id or 0), len(workers)
    return 0, 1


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True on the worker that writes logs, the best model and the real checkpoints."""
    return worker_info(strategy)[0] == 0


def mixed_precision_policy(mode: str | bool, gpu: bool) -> str:
    """The Keras dtype policy of ``TrainConfig.mixed_precision`` (``off``, ``auto``,
    ``float16``, ``bfloat16``; a boolean reads as ``auto``/``off``): float32, mixed_float16
    or mixed_bfloat16; ``auto`` is float16 when the step runs on a ``gpu``."""
    if isinstance(mode, bool):
        mode = "auto" if mode else "off"
    if mode == "off":
        return "float32"
    if mode == "auto":
        mode = "float16" if gpu else "bfloat16"
    return f"mixed_{mode}"
