"""Checkpoints of a run folder: model + optimiser + step every N steps, data state, best weights.

Layout of ``RUN_DIR``::

    checkpoints/ckpt-<step>.*          model, optimiser, step, plateau state (tf.train.Checkpoint)
    data_state/worker_<i>/ckpt-<step>.* each worker's tf.data iterator at that step
    best.weights.h5, best.json         the best model on validation and its metrics
    last.weights.h5                    the weights at the end of the run

Under ``MultiWorkerMirroredStrategy`` every worker calls ``save`` (the strategy needs it);
only the chief's files are kept, the others write to a temporary folder that is removed.
``RUN_DIR`` must be on a file system every worker sees (a shared disk or a bucket).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from typing import Any

import tensorflow as tf

from tfdeepfake import runs
from tfdeepfake.runs import CHECKPOINT_DIR, STATE_SUFFIX

DATA_STATE_DIR = "data_state"


class RunCheckpoints:
    """Save and restore the training state of one worker.

    Args:
        run_dir: the run folder.
        objects: trackables of the training state (model, optimizer, step, ...).
        keep: checkpoints kept.
        worker, workers: this worker's index and the number of workers.
    """

    def __init__(
        self,
        run_dir: str,
        objects: dict[str, Any],
        keep: int = 3,
        worker: int = 0,
        workers: int = 1,
    ):
        self.run_dir, self.keep, self.worker = run_dir, keep, worker
        self.chief = worker == 0
        self.checkpoint = tf.train.Checkpoint(**objects)
        self.main_dir = os.path.join(run_dir, CHECKPOINT_DIR)
        write_dir = self.main_dir if self.chief else os.path.join(run_dir, f".tmp_worker_{worker}")
        self.manager = tf.train.CheckpointManager(self.checkpoint, write_dir, max_to_keep=keep)
        self.data_dir = os.path.join(run_dir, DATA_STATE_DIR, f"worker_{worker}")
        self._data_checkpoint: tf.train.Checkpoint | None = None
        self._data_manager: tf.train.CheckpointManager | None = None

    def latest_step(self) -> int:
        """The step of the newest checkpoint in ``RUN_DIR/checkpoints`` (0 when none)."""
        path = tf.train.latest_checkpoint(self.main_dir)
        return int(path.rsplit("-", 1)[1]) if path else 0

    def restore(self) -> int:
        """Restore the newest checkpoint (the chief's); the step restored, 0 when none."""
        path = tf.train.latest_checkpoint(self.main_dir)
        if path is None:
            return 0
        self.checkpoint.restore(path).assert_existing_objects_matched()
        return int(path.rsplit("-", 1)[1])

    def track_data(self, trackables: dict[str, Any]) -> None:
        """Checkpoint these data-state objects (this worker's iterator) alongside."""
        if trackables:
            self._data_checkpoint = tf.train.Checkpoint(**trackables)
            self._data_manager = tf.train.CheckpointManager(
                self._data_checkpoint, self.data_dir, max_to_keep=self.keep + 1
            )

    def restore_data(self, step: int) -> bool:
        """Restore the data state saved at ``step``; False when there is none for that step."""
        if self._data_checkpoint is None or step == 0:
            return False
        path = os.path.join(self.data_dir, f"ckpt-{step}")
        if not tf.io.gfile.exists(path + ".index"):
            return False
        self._data_checkpoint.restore(path).assert_existing_objects_matched()
        return True

    def save(self, step: int) -> None:
        """Save the data state, then the training state (the latter marks the step complete)."""
        if self._data_manager is not None:
            self._data_manager.save(checkpoint_number=step)
        self.manager.save(checkpoint_number=step)
        if not self.chief:
            shutil.rmtree(self.manager.directory, ignore_errors=True)



class KerasStateCheckpoints(RunCheckpoints):
    """``RunCheckpoints`` for Keras variables that are not TensorFlow objects (the JAX
    backend): their values go to ``ckpt-<step>.state.npz`` beside the checkpoint of the
    TensorFlow objects (step, best metric, plateau, data state), which is written last.

    With several processes (``jax.distributed``) each saves only its own tf.data position
    (``data_state/worker_<i>``: no other process can); after a ``barrier`` process 0 writes
    the rest, and the others wait for it at a second barrier. Every process restores from
    the same files, so ``RUN_DIR`` must be on a file system they all see.

    Args:
        run_dir, objects, keep, worker, workers: as ``RunCheckpoints`` (``objects``:
            TensorFlow trackables).
        groups: name -> the Keras variables to save, e.g. ``{"model": model.variables}``.
        barrier: ``barrier(name)`` waits for every process (``jax_processes.barrier``).
    """

    def __init__(self, run_dir: str, objects: dict[str, Any], groups: dict[str, list],
                 keep: int = 3, worker: int = 0, workers: int = 1,
                 barrier: Callable[[str], None] | None = None):
        super().__init__(run_dir, objects, keep, worker, workers)
        self.groups = groups
        self.barrier = barrier or (lambda name: None)

    def _state_path(self, step: int) -> str:
        return os.path.join(self.main_dir, f"ckpt-{step}{STATE_SUFFIX}")

    def restore(self) -> int:
        """Restore the newest checkpoint and its Keras state; the step (0 when none)."""
        step = super().restore()
        if step:
            for group, variables in self.groups.items():
                runs.assign_state_arrays(self._state_path(step), group, variables)
        return step

    def save(self, step: int) -> None:
        """This process's data state; then (process 0) the Keras state and the rest, old
        states pruned; every process returns once the checkpoint is complete."""
        if self._data_manager is not None:
            self._data_manager.save(checkpoint_number=step)
        self.barrier(f"tfdeepfake-data-state-{step}")
        if self.chief:
            runs.write_state_arrays(self._state_path(step), self.groups)
            self.manager.save(checkpoint_number=step)
            kept = {os.path.basename(p) + STATE_SUFFIX for p in self.manager.checkpoints}
            for name in os.listdir(self.main_dir):
                if name.endswith(STATE_SUFFIX) and name not in kept:
                    os.remove(os.path.join(self.main_dir, name))
        self.barrier(f"tfdeepfake-checkpoint-{step}")
