"""The JAX trainer: ``Trainer``'s loop, configs, inputs and run folders with a jitted step.

Keras runs on JAX (``KERAS_BACKEND=jax``; ``tfdeepfake train --backend jax`` sets it). The
model and optimiser are built under ``keras.distribution.DataParallel`` over every local
device (variables replicated); each global batch is split over the devices along its first
axis and one ``jax.jit`` step computes the loss, the gradients (XLA all-reduces them) and
the optimiser update with ``stateless_call`` / ``stateless_apply``. Between syncs the
training state lives in arrays; the Keras variables are brought up to date before a
validation, a checkpoint and the end of the run.

Input is the same ``tf.data`` pipeline, one iterator per process whose batches become
numpy arrays, checkpointed with the run (exact resume). Checkpoints keep the Keras state in
``ckpt-<step>.state.npz`` (``KerasStateCheckpoints``); the weights files are Keras'
``.weights.h5``, so ``detect``, ``evaluate`` and ``export`` read the run on TensorFlow.

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

from tfdeepfake.training.checkpoints import KerasStateCheckpoints
from tfdeepfake.training.optimizers import PlateauController, build_optimizer
from tfdeepfake.training.trainer import (
    Trainer,
    init_weights_file,
    set_trainable,
    unpack_batch,
)


class JaxTrainer(Trainer):
    """One training run on the JAX backend (see the module docstring); same arguments,
    run folder and summary as ``Trainer``."""

    backend = "jax"

    def _build(self) -> None:
        config = self.config
        devices = jax.devices()
        self.strategy = tf.distribute.get_strategy()  # tf.data input and validation only
        self.worker, self.workers, self.chief = 0, 1, True
        self.replicas = len(devices)
        if config.data.batch_size % self.replicas:
            raise ValueError(
                f"data.batch_size {config.data.batch_size} does not split over the "
                f"{self.replicas} local devices: pass a --batch-size that is a multiple of "
                f"{self.replicas}."
            )
        mesh = Mesh(np.array(devices), ("batch",))
        self._split = NamedSharding(mesh, PartitionSpec("batch"))
        self._replicated = NamedSharding(mesh, PartitionSpec())
        policy = "mixed_bfloat16" if config.mixed_precision else "float32"
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
                self.optimizer.build(self.model.trainable_variables)
        finally:
            keras.mixed_precision.set_global_policy(previous_policy)
        self.loss_scaling = False
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.best = tf.Variable(float("nan"), trainable=False, name="best_metric")
        objects: dict[str, Any] = {"step": self.step, "best": self.best}
        self.plateau = None
        if config.optimizer.schedule == "plateau":
            self.plateau = PlateauController(
                self.optimizer,
                config.optimizer.plateau_factor,
                config.optimizer.plateau_patience,
                config.optimizer.end_learning_rate,
                config.checkpoint.best_metric == "auc",
            )
            objects["plateau"] = self.plateau
        groups = {"model": self.model.variables, "optimizer": self.optimizer.variables}
        self.checkpoints = KerasStateCheckpoints(config.out, objects, groups,
                                                 config.checkpoint.keep)
        self.state: tuple | None = None

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
        """A host batch (tf.data tensors) as device arrays split over the devices' batch
        axis (replicated when it does not split: a last, short validation batch)."""
        arrays = tf.nest.map_structure(np.asarray, batch)
        first = jax.tree_util.tree_leaves(arrays)[0]
        sharding = self._split if len(first) % self.replicas == 0 else self._replicated
        return jax.device_put(arrays, sharding)

    # -- steps ----------------------------------------------------------------------------

    def _make_train_step(self):
        model, optimizer = self.model, self.optimizer
        self._pull_state()

        def loss_fn(trainable, non_trainable, images, labels, masks):
            outputs, non_trainable, model_losses = model.stateless_call(
                trainable, non_trainable, images, training=True, return_losses=True
            )
            loss = self.compute_loss(outputs, labels, masks, model_losses)
            return loss, (outputs["logit"], non_trainable)

        gradients = jax.value_and_grad(loss_fn, has_aux=True)

        @functools.partial(jax.jit, out_shardings=self._replicated)
        def step(state, batch, step_number):
            trainable, non_trainable, optimizer_state = state
            images, labels, masks = unpack_batch(batch)
            if self.augment_on == "device":
                images = self.device_augmented(images, step_number)
            (loss, (logits, non_trainable)), grads = gradients(
                trainable, non_trainable, images, labels, masks
            )
            trainable, optimizer_state = optimizer.stateless_apply(
                optimizer_state, grads, trainable
            )
            logits = logits.astype("float32").reshape(-1)
            return (trainable, non_trainable, optimizer_state), loss, logits, labels.reshape(-1)

        def train_step(batch):
            step_number = np.uint32(self.step.numpy())
            self.state, loss, logits, labels = step(self.state, self._put(batch), step_number)
            return loss, logits, labels

        return train_step

    def _make_eval_step(self):
        model = self.model

        @jax.jit
        def logits_of(trainable, non_trainable, images):
            outputs, _ = model.stateless_call(trainable, non_trainable, images, training=False)
            return outputs["logit"].astype("float32").reshape(-1)

        def eval_step(batch):
            images, labels, _ = unpack_batch(self._put(batch))
            logits = logits_of(self.state[0], self.state[1], images)
            return logits, np.asarray(labels, np.float32).reshape(-1)

        return eval_step

    def _validation(self, step: int, writer) -> dict[str, Any]:
        self._sync_variables()  # the best weights are saved from the variables
        metrics = super()._validation(step, writer)
        self._pull_state()  # a plateau may have lowered the learning rate
        return metrics

    def _learning_rate(self) -> float:
        self._sync_variables()  # the schedule reads the optimiser's iteration count
        return super()._learning_rate()
