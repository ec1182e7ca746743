"""The JAX trainer: ``Trainer``'s loop, configs, inputs and run folders with a jitted step.

Keras runs on JAX (``KERAS_BACKEND=jax``; ``tfdeepfake train --backend jax`` sets it). The
model and optimiser are built under ``keras.distribution.DataParallel`` over every device
of every process (variables replicated); each global batch is split over the devices along
its first axis and one ``jax.jit`` step computes the loss, the gradients (XLA all-reduces
them) and the optimiser update with ``stateless_call`` / ``stateless_apply``. Between syncs
the training state lives in arrays; the Keras variables are brought up to date before a
validation, a checkpoint and the end of the run.

Multi-host (``config.distributed``, ``jax_processes``): every process runs the same
command; ``jax.distributed`` joins them before any device is used. Process ``p`` of ``P``
reads its own shard files through its own ``tf.data`` pipeline (``ProcessFeeder``), and its
``batch_size / P`` rows become its devices' part of the global batch. Validation runs on
each process's devices over its share of the validation files and the predictions are
gathered, so every process sees the same metrics. Only process 0 writes the run folder;
the others save their tf.data position and wait on a barrier (``KerasStateCheckpoints``).

``mixed_precision`` float16 wraps the optimiser in Keras' ``LossScaleOptimizer``: the step
scales the loss by the current scale, and its ``stateless_apply`` unscales the gradients,
skips the update and halves the scale on non-finite gradients, and doubles the scale after
2,000 finite steps; the scale is an optimiser variable, so checkpoints keep it.

Input is the same ``tf.data`` pipeline, checkpointed with the run (exact resume).
Checkpoints keep the Keras state in ``ckpt-<step>.state.npz`` (``KerasStateCheckpoints``);
the weights files are Keras' ``.weights.h5``, so ``detect``, ``evaluate`` and ``export`` read
the run on TensorFlow.

Example:
    >>> import os; os.environ["KERAS_BACKEND"] = "jax"  # before keras or tensorflow
    >>> from tfdeepfake.training import resolve_config, train
    >>> config = resolve_config("autoatt_b4_tiny", overrides={
    ...     "backend": "jax", "data": {"train": "shards/train"}, "out": "runs/tiny"})
    >>> summary = train(config)
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import keras
import numpy as np
import tensorflow as tf
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from tfdeepfake.training import jax_processes
from tfdeepfake.training.checkpoints import KerasStateCheckpoints
from tfdeepfake.training.inputs import ProcessFeeder, worker_context
from tfdeepfake.training.optimizers import PlateauController, build_optimizer
from tfdeepfake.training.strategy import mixed_precision_policy
from tfdeepfake.training.trainer import (
    Trainer,
    binary_metrics,
    init_weights_file,
    set_trainable,
    unpack_batch,
)


class JaxTrainer(Trainer):
    """One training run on the JAX backend (see the module docstring); same arguments,
    run folder and summary as ``Trainer``."""

    backend = "jax"

    def __init__(self, config, train_data=None, val_data=None):
        dist = config.distributed  # before any JAX device use (the base class asks)
        jax_processes.start_processes(dist.coordinator, dist.num_processes, dist.process_id)
        super().__init__(config, train_data, val_data)

    def _build(self) -> None:
        config = self.config
        devices = jax.devices()  # every process's
        self.strategy = tf.distribute.get_strategy()  # tf.data input only
        self.worker, self.workers = jax.process_index(), jax.process_count()
        self.chief = self.worker == 0
        self.replicas = len(devices)
        if config.data.batch_size % self.replicas:
            raise ValueError(
                f"data.batch_size {config.data.batch_size} does not split over the "
                f"{self.replicas} devices: pass a --batch-size that is a multiple of "
                f"{self.replicas}."
            )
        val_batch = config.data.val_batch_size or config.data.batch_size
        if self.val_data is not None and val_batch % self.workers:
            raise ValueError(
                f"data.val_batch_size {val_batch} does not split over the {self.workers} "
                f"processes: pass a --set data.val_batch_size= multiple of {self.workers}."
            )
        mesh = Mesh(np.array(devices), ("batch",))
        self._split = NamedSharding(mesh, PartitionSpec("batch"))
        self._replicated = NamedSharding(mesh, PartitionSpec())
        local = Mesh(np.array(jax.local_devices()), ("batch",))
        self._local_split = NamedSharding(local, PartitionSpec("batch"))
        self._local_replicated = NamedSharding(local, PartitionSpec())
        policy = mixed_precision_policy(config.mixed_precision, jax.default_backend() == "gpu")
        previous_policy = keras.mixed_precision.global_policy()
        keras.mixed_precision.set_global_policy(policy)
        try:
            with keras.distribution.DataParallel(devices=devices).scope():
                from tfdeepfake.models import create_model

                keras.utils.set_random_seed(config.data.seed)
                self.model = create_model(self.preset)
                if config.model.init_weights:
                    self.model.load_weights(init_weights_file(config.model.init_weights))
                set_trainable(self.model, config.model.trainable)
                self.optimizer = build_optimizer(config.optimizer, config.steps)
                if policy == "mixed_float16":
                    self.optimizer = keras.optimizers.LossScaleOptimizer(self.optimizer)
                self.optimizer.build(self.model.trainable_variables)
        finally:
            keras.mixed_precision.set_global_policy(previous_policy)
        self.loss_scaling = policy == "mixed_float16"
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.best = tf.Variable(float("nan"), trainable=False, name="best_metric")
        objects: dict[str, Any] = {"step": self.step, "best": self.best}
        self.plateau = None
        if config.optimizer.schedule == "plateau":
            self.plateau = PlateauController(
                getattr(self.optimizer, "inner_optimizer", self.optimizer),
                config.optimizer.plateau_factor,
                config.optimizer.plateau_patience,
                config.optimizer.end_learning_rate,
                config.checkpoint.best_metric == "auc",
            )
            objects["plateau"] = self.plateau
        groups = {"model": self.model.variables, "optimizer": self.optimizer.variables}
        self.checkpoints = KerasStateCheckpoints(
            config.out, objects, groups, config.checkpoint.keep, self.worker, self.workers,
            jax_processes.barrier,
        )
        self.state: tuple | None = None

    def _feeder(self, start_step: int):
        """This process's ``ProcessFeeder``: at the checkpointed position (exact), else
        re-seeded with ``seed + step`` so a resumed run does not replay the first batches."""
        config = self.config
        exact = config.checkpoint.data_state
        seed = config.data.seed
        if exact:
            feeder = ProcessFeeder(self.train_data, seed, self.worker, self.workers)
            self.checkpoints.track_data(feeder.trackables)
            if start_step == 0 or self.checkpoints.restore_data(start_step):
                return feeder, "exact"
            self._log(f"No data state for step {start_step}: re-seeding the input pipeline.")
        feeder = ProcessFeeder(self.train_data, seed + start_step, self.worker, self.workers)
        if exact:
            self.checkpoints.track_data(feeder.trackables)
        return feeder, "reseeded" if start_step else "fresh"

    def _accelerated(self) -> bool:
        return jax.default_backend() != "cpu"

    # -- state: arrays between syncs ------------------------------------------------------

    def _pull_state(self) -> None:
        """Take the training state from the Keras variables (replicated on every device,
        as the step returns it: the same shardings, so the step compiles once)."""
        self.state = jax.device_put(
            (
                [v.value for v in self.model.trainable_variables],
                [v.value for v in self.model.non_trainable_variables],
                [v.value for v in self.optimizer.variables],
            ),
            self._replicated,
        )

    def _sync_variables(self) -> None:
        if self.state is None:
            return
        trainable, non_trainable, optimizer = self.state
        for group, values in (
            (self.model.trainable_variables, trainable),
            (self.model.non_trainable_variables, non_trainable),
            (self.optimizer.variables, optimizer),
        ):
            for variable, value in zip(group, values):
                variable.assign(value)

    def _put(self, batch: Any) -> Any:
        """This process's rows of a training batch (tf.data tensors) as its part of the
        global batch, split over every process's devices along the batch axis."""
        arrays = tf.nest.map_structure(np.asarray, batch)
        return jax.tree_util.tree_map(
            lambda rows: jax.make_array_from_process_local_data(self._split, rows), arrays
        )

    def _put_local(self, batch: Any) -> Any:
        """A validation batch on this process's devices (split over them, or replicated
        when it does not split: a last, short batch)."""
        arrays = tf.nest.map_structure(np.asarray, batch)
        first = jax.tree_util.tree_leaves(arrays)[0]
        local = len(jax.local_devices())
        sharding = self._local_split if len(first) % local == 0 else self._local_replicated
        return jax.device_put(arrays, sharding)

    # -- steps ----------------------------------------------------------------------------

    def _make_train_step(self):
        model, optimizer = self.model, self.optimizer
        self._pull_state()

        def loss_fn(trainable, non_trainable, optimizer_state, images, labels, masks):
            outputs, non_trainable, model_losses = model.stateless_call(
                trainable, non_trainable, images, training=True, return_losses=True
            )
            loss = self.compute_loss(outputs, labels, masks, model_losses)
            scaled = loss
            if self.loss_scaling:  # by the scale in optimizer_state (a checkpointed variable)
                mapping = list(zip(optimizer.variables, optimizer_state))
                with keras.StatelessScope(state_mapping=mapping):
                    scaled = optimizer.scale_loss(loss)
            return scaled, (loss, outputs["logit"], non_trainable)

        gradients = jax.grad(loss_fn, has_aux=True)

        @functools.partial(jax.jit, out_shardings=self._replicated)
        def step(state, batch, step_number):
            trainable, non_trainable, optimizer_state = state
            images, labels, masks = unpack_batch(batch)
            if self.augment_on == "device":
                images = self.device_augmented(images, step_number)
            grads, (loss, logits, non_trainable) = gradients(
                trainable, non_trainable, optimizer_state, images, labels, masks
            )
            # LossScaleOptimizer: unscale; on non-finite gradients skip and halve the scale.
            trainable, optimizer_state = optimizer.stateless_apply(
                optimizer_state, grads, trainable
            )
            logits = logits.astype("float32").reshape(-1)
            return (trainable, non_trainable, optimizer_state), loss, logits, labels.reshape(-1)

        def train_step(batch):
            step_number = jax.device_put(np.uint32(self.step.numpy()), self._replicated)
            self.state, loss, logits, labels = step(self.state, self._put(batch), step_number)
            return loss, logits, labels

        return train_step

    def _make_eval_step(self):
        model = self.model

        @jax.jit
        def logits_of(trainable, non_trainable, images):
            outputs, _ = model.stateless_call(trainable, non_trainable, images, training=False)
            return outputs["logit"].astype("float32").reshape(-1)

        def eval_step(batch, params):
            images, labels, _ = unpack_batch(self._put_local(batch))
            logits = logits_of(*params, images)
            return np.asarray(logits), np.asarray(labels, np.float32).reshape(-1)

        return eval_step

    def validate(self) -> dict[str, float]:
        """Each process scores its share of the validation files on its own devices; the
        predictions of every process are gathered, so all see the same metrics."""
        cfg = self.config.data
        local_copy = jax.tree_util.tree_map(lambda a: a.addressable_data(0), self.state[:2])
        params = jax.device_put(local_copy, self._local_replicated)
        dataset = self.val_data(worker_context(self.worker, self.workers), cfg.seed)
        all_logits, all_labels = [np.zeros(0, np.float32)], [np.zeros(0, np.float32)]
        for i, batch in enumerate(dataset):
            if cfg.val_steps and i >= cfg.val_steps:
                break
            logits, labels = self._eval_step(batch, params)
            all_logits.append(logits)
            all_labels.append(labels)
        logits = jax_processes.gather_rows(np.concatenate(all_logits))
        labels = jax_processes.gather_rows(np.concatenate(all_labels))
        return {**binary_metrics(labels, logits), "examples": int(labels.size)}

    def _validation(self, step: int, writer) -> dict[str, Any]:
        self._sync_variables()  # the best weights are saved from the variables
        metrics = super()._validation(step, writer)
        self._pull_state()  # a plateau may have lowered the learning rate
        return metrics

    def _learning_rate(self) -> float:
        self._sync_variables()  # the schedule reads the optimiser's iteration count
        return super()._learning_rate()

    def run(self) -> dict[str, Any]:
        """``Trainer.run``; every process returns once process 0 has written the run folder."""
        summary = super().run()
        jax_processes.barrier("tfdeepfake-run-end")
        return summary
