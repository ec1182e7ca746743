"""The trainer: a custom loop with ``strategy.run`` inside ``tf.function``.

Keras 3's ``fit`` fails under ``MultiWorkerMirroredStrategy`` (keras #20585); this loop works
under every ``tf.distribute`` strategy. The model and optimiser are built in
``strategy.scope()``; each replica computes its loss on its share of the global batch and
divides by the number of replicas; the optimiser all-reduces (sums) the gradients.

Example:
    >>> from tfdeepfake.training import resolve_config, train
    >>> config = resolve_config("autoatt_b4_tiny", overrides={
    ...     "data": {"train": "shards/train", "val": "shards/val"}, "out": "runs/tiny",
    ...     "steps": 200})
    >>> result = train(config)
"""

from __future__ import annotations

import collections
import json
import logging
import math
import os
import sys
import time
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from tfdeepfake import runs
from tfdeepfake.models.base import sublayers
from tfdeepfake.models.batchnorm import refresh_batch_norm
from tfdeepfake.runs import BEST_WEIGHTS, LAST_WEIGHTS, save_weights_atomic
from tfdeepfake.safeio import folder_lock, write_text_atomic
from tfdeepfake.training import device_augment, losses
from tfdeepfake.training.checkpoints import RunCheckpoints
from tfdeepfake.training.config import TrainConfig
from tfdeepfake.training.inputs import DatasetFn, DistributedFeeder, ExactFeeder, check_data
from tfdeepfake.training.optimizers import PlateauController, build_optimizer
from tfdeepfake.training.run import load_config
from tfdeepfake.training.strategy import make_strategy, mixed_precision_policy, worker_info

log = logging.getLogger(__name__)

_AUC_WINDOW = 1024  # training AUC in the progress bar: over the last this many examples


def unpack_batch(batch: Any) -> tuple[Any, tf.Tensor, tf.Tensor | None]:
    """``(images, labels, masks or None)`` from a tuple ``(x, y[, masks])`` or a dict batch."""
    if isinstance(batch, dict):
        images = batch.get("images", batch.get("image"))
        labels = batch.get("labels", batch.get("label"))
        return images, labels, batch.get("masks", batch.get("mask"))
    if isinstance(batch, (tuple, list)) and len(batch) in (2, 3):
        return batch[0], batch[1], batch[2] if len(batch) == 3 else None
    raise ValueError(
        "A training batch must be (images, labels), (images, labels, masks) or a dict with "
        f"'images' and 'labels'; got {type(batch).__name__}."
    )


def binary_metrics(labels: np.ndarray, logits: np.ndarray) -> dict[str, float]:
    """AUC and log loss of logits against 0/1 labels (AUC NaN with one class)."""
    from tfdeepfake.scoring.aggregation import sigmoid
    from tfdeepfake.scoring.metrics import log_loss, roc_auc

    labels = np.asarray(labels).reshape(-1).astype(np.int64)
    logits = np.asarray(logits, np.float64).reshape(-1)
    if labels.size == 0:
        return {"auc": float("nan"), "log_loss": float("nan"), "accuracy": float("nan")}
    return {
        "auc": roc_auc(labels, logits),
        "log_loss": log_loss(labels, sigmoid(logits)),
        "accuracy": float(np.mean((logits > 0) == (labels == 1))),
    }


class Trainer:
    """One training run described by a ``TrainConfig`` (``backend="tensorflow"``; the JAX
    backend's is ``tfdeepfake.training.jax_trainer.JaxTrainer``, ``train`` picks).

    Args:
        config: the run's configuration (``resolve_config`` builds one).
        train_data: optional dataset function ``fn(input_context, seed)`` replacing the
            shards of ``config.data.train`` (e.g. an in-memory ``tf.data`` pipeline).
        val_data: the same for validation (finite dataset).
    """

    backend = "tensorflow"

    def __init__(
        self,
        config: TrainConfig,
        train_data: DatasetFn | None = None,
        val_data: DatasetFn | None = None,
    ):
        from tfdeepfake.models import get_preset

        self.config = config.validate(require_data=train_data is None)
        check_backend(config.backend, type(self).__name__, self.backend)
        self.preset = get_preset(config.model.name).with_overrides(**config.model.overrides)
        self._check_run_dir()
        # "auto" leaves a caller's own dataset function as it is (its batches are final).
        accelerated = train_data is None and self._accelerated()
        self.augment_on = augment_placement(config, self.preset, accelerated)
        self.data_summary: dict[str, Any] = {}
        if train_data is None:
            self.data_summary["train"] = check_data(
                config.data.train, self.preset, fakes=config.data.fakes,
                skip_corrupt=config.data.skip_corrupt,
            )
            train_data = make_dataset_fn(
                config, self.preset, training=True, on_device=self.augment_on == "device"
            )
        if val_data is None and config.data.val:
            self.data_summary["val"] = check_data(
                config.data.val, self.preset, flag="--val-data", training=False,
                skip_corrupt=config.data.skip_corrupt,
            )
            val_data = make_dataset_fn(config, self.preset, training=False)
        self.train_data, self.val_data = train_data, val_data

    # -- set-up ---------------------------------------------------------------------------

    def _accelerated(self) -> bool:
        """Whether the step runs on an accelerator ("auto" augments there only then); the
        TensorFlow trainer keeps augmentation in tf.data unless asked (``augment_on``)."""
        return False

    def _check_run_dir(self) -> None:
        if runs.read_config(self.config.out) is not None:
            previous = load_config(self.config.out)
            if previous.backend != self.config.backend:
                raise ValueError(
                    f"--out {self.config.out} holds a run trained with --backend "
                    f"{previous.backend}; its checkpoints resume only on that backend: pass "
                    f"--backend {previous.backend}, or another --out folder."
                )
            if previous.model.name != self.config.model.name:
                raise ValueError(
                    f"--out {self.config.out} holds a run of model {previous.model.name!r}, not "
                    f"{self.config.model.name!r}: pass another --out folder, or the same "
                    "--model to resume that run."
                )

    def _build(self) -> None:
        config = self.config
        self.strategy = make_strategy(config.strategy, config.tpu)
        self.worker, self.workers = worker_info(self.strategy)
        self.chief = self.worker == 0
        self.replicas = self.strategy.num_replicas_in_sync
        gpu = config.strategy != "tpu" and bool(tf.config.list_physical_devices("GPU"))
        policy = mixed_precision_policy(config.mixed_precision, gpu)
        previous_policy = keras.mixed_precision.global_policy()
        keras.mixed_precision.set_global_policy(policy)
        try:
            with self.strategy.scope():
                from tfdeepfake.models import create_model

                keras.utils.set_random_seed(config.data.seed)  # same init and dropout seeds
                self.model = create_model(self.preset)
                if config.model.init_weights:
                    self.model.load_weights(init_weights_file(config.model.init_weights))
                set_trainable(self.model, config.model.trainable)
                optimizer = build_optimizer(config.optimizer, config.steps)
                if policy == "mixed_float16":
                    optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
                optimizer.build(self.model.trainable_variables)
                self.optimizer = optimizer
        finally:
            keras.mixed_precision.set_global_policy(previous_policy)
        self.loss_scaling = policy == "mixed_float16"
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        inner = getattr(self.optimizer, "inner_optimizer", self.optimizer)
        self.plateau = None
        if config.optimizer.schedule == "plateau":
            self.plateau = PlateauController(
                inner,
                config.optimizer.plateau_factor,
                config.optimizer.plateau_patience,
                config.optimizer.end_learning_rate,
                config.checkpoint.best_metric == "auc",
            )
        objects = {
            "model": self.model,
            "optimizer": self.optimizer,
            "step": self.step,
            "rng": random_states(self.model),
        }
        if self.plateau is not None:
            objects["plateau"] = self.plateau
        self.best = tf.Variable(float("nan"), trainable=False, name="best_metric")
        objects["best"] = self.best
        self.checkpoints = RunCheckpoints(
            config.out, objects, config.checkpoint.keep, self.worker, self.workers
        )

    def _feeder(self, start_step: int):
        config = self.config
        exact = config.checkpoint.data_state and config.strategy != "tpu"
        if exact:
            feeder = ExactFeeder(
                self.strategy, self.train_data, config.data.seed, self.worker, self.workers
            )
            self.checkpoints.track_data(feeder.trackables)
            if start_step == 0 or self.checkpoints.restore_data(start_step):
                return feeder, "exact"
            self._log(f"No data state for step {start_step}: re-seeding the input pipeline.")
        # Re-seed on resume so a resumed run does not replay the first batches.
        feeder = DistributedFeeder(self.strategy, self.train_data, config.data.seed + start_step)
        return feeder, "reseeded" if start_step else "fresh"

    # -- steps ----------------------------------------------------------------------------

    def compute_loss(
        self, outputs: dict[str, Any], labels: Any, masks: Any, extra_losses: Any = ()
    ) -> Any:
        """The configured loss of one replica's batch (mean over its examples), in
        ``keras.ops`` (both backends' steps call it); ``extra_losses``: the model's own."""
        cfg = self.config.loss
        logits = outputs["logit"]
        if cfg.name == "triplet":
            if "features" not in outputs:
                raise ValueError(
                    f"loss.name=triplet needs a model with a 'features' output; "
                    f"{self.preset.name!r} returns {sorted(outputs)}."
                )
            loss = losses.stacked_triplet_loss(outputs["features"], cfg.triplet_margin)
        elif cfg.name == "balanced_bce":
            loss = losses.balanced_bce(labels, logits, cfg.label_clip)
        else:
            loss = losses.bce_with_logits(labels, logits, cfg.label_clip)
        if cfg.mask_weight > 0 and masks is not None and "attention" in outputs:
            integer = "int" in keras.backend.standardize_dtype(masks.dtype)
            masks = ops.cast(masks, "float32") / (255.0 if integer else 1.0)
            has_mask = ops.max(ops.reshape(masks, (ops.shape(masks)[0], -1)), axis=1)
            loss += cfg.mask_weight * losses.attention_mask_loss(
                outputs["attention"], masks, has_mask
            )
        if cfg.uniformity_weight > 0 or cfg.alignment_weight > 0:
            loss += self._feature_terms(outputs, labels)
        for extra in extra_losses:
            loss += ops.cast(extra, "float32")
        return loss

    def _feature_terms(self, outputs: dict[str, Any], labels: Any) -> Any:
        """Weighted uniformity and label-aware alignment on the normalised ``features``."""
        cfg = self.config.loss
        if "features" not in outputs:
            raise ValueError(
                f"loss.uniformity_weight / loss.alignment_weight need a model with a 'features' "
                f"output; {self.preset.name!r} returns {sorted(outputs)}. Use a GenD preset "
                "(gend_*) or set both weights to 0."
            )
        features = outputs["features"]
        return (cfg.uniformity_weight * losses.uniformity_loss(features, cfg.uniformity_t)
                + cfg.alignment_weight * losses.alignment_loss(features, labels,
                                                               cfg.alignment_alpha))

    def _make_train_step(self):
        model, optimizer, replicas = self.model, self.optimizer, self.replicas

        def replica_step(batch):
            images, labels, masks = unpack_batch(batch)
            if self.augment_on == "device":
                replica = tf.distribute.get_replica_context().replica_id_in_sync_group
                images = self.device_augmented(images, self.step, replica * images.shape[0])
            with tf.GradientTape() as tape:
                outputs = model(images, training=True)
                loss = self.compute_loss(outputs, labels, masks, model.losses)
                scaled = loss / replicas
                if self.loss_scaling:
                    scaled = optimizer.scale_loss(scaled)
            grads = tape.gradient(scaled, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            logits = tf.reshape(tf.cast(outputs["logit"], tf.float32), (-1,))
            return loss / replicas, logits, tf.reshape(tf.cast(labels, tf.float32), (-1,))

        @tf.function
        def train_step(batch):
            loss, logits, labels = self.strategy.run(replica_step, args=(batch,))
            loss = self.strategy.reduce(tf.distribute.ReduceOp.SUM, loss, axis=None)
            return loss, self.strategy.gather(logits, 0), self.strategy.gather(labels, 0)

        return train_step

    def device_augmented(self, images, step, offset=0):
        """uint8 training images -> augmented (``device_augment``), normalised float32; the
        draws are keyed by the run's seed, ``step`` and the example's index (``offset`` +
        its place in ``images``), so an exact resume draws what the first run drew."""
        frames = images.shape[1] if len(images.shape) == 5 else 1
        keys = device_augment.example_keys(
            self.config.data.seed, step, images.shape[0] * frames, offset, frames
        )
        return device_augment.augment_batch(
            images, keys, self.preset.mean, self.preset.std, _recipe_name(self.preset)
        )

    def _make_eval_step(self):
        model = self.model

        def replica_step(batch):
            images, labels, _ = unpack_batch(batch)
            logits = tf.reshape(tf.cast(model(images, training=False)["logit"], tf.float32), (-1,))
            return logits, tf.reshape(tf.cast(labels, tf.float32), (-1,))

        @tf.function
        def eval_step(batch):
            logits, labels = self.strategy.run(replica_step, args=(batch,))
            return self.strategy.gather(logits, 0), self.strategy.gather(labels, 0)

        return eval_step

    def validate(self) -> dict[str, float]:
        """Run the validation set once (every worker sees the gathered predictions)."""
        cfg = self.config.data
        dist = self.strategy.distribute_datasets_from_function(
            lambda ctx: self.val_data(ctx, cfg.seed)
        )
        all_logits, all_labels = [], []
        for i, batch in enumerate(dist):
            if cfg.val_steps and i >= cfg.val_steps:
                break
            logits, labels = self._eval_step(batch)
            all_logits.append(np.asarray(logits))
            all_labels.append(np.asarray(labels))
        logits = np.concatenate(all_logits) if all_logits else np.zeros(0)
        labels = np.concatenate(all_labels) if all_labels else np.zeros(0)
        return {**binary_metrics(labels, logits), "examples": int(labels.size)}

    # -- the loop -------------------------------------------------------------------------

    def _log(self, message: str) -> None:
        """Progress and resume notes, from the chief only (INFO on ``tfdeepfake.training``;
        the CLI shows them)."""
        if self.chief:
            log.info(message)

    def _improved(self, metrics: dict[str, float]) -> bool:
        """Better than the best so far on ``best_metric``. An AUC tie goes to the lower log
        loss: on a few validation clips AUC reaches 1.0 early, and the first of the ties
        would otherwise stay best, the least trained model with the narrowest margins."""
        key = self.config.checkpoint.best_metric
        # in the float32 of the checkpointed best, or a tie would read as a change
        value, best = float(np.float32(metrics[key])), float(self.best.numpy())
        if math.isnan(value):
            return False
        if math.isnan(best):
            return True
        if key == "auc" and value == best:
            return metrics["log_loss"] < self._best_log_loss
        return value > best if key == "auc" else value < best

    def _restore_best_log_loss(self) -> None:
        """The best model's log loss (the AUC tie-break) from ``best.json``, on resume."""
        path = os.path.join(self.config.out, "best.json")
        self._best_log_loss = math.inf
        if not math.isnan(float(self.best.numpy())) and os.path.exists(path):
            with open(path) as f:
                self._best_log_loss = float(json.load(f).get("log_loss", math.inf))

    def _write_json(self, name: str, values: dict) -> None:
        if self.chief:
            text = json.dumps(values, indent=2, sort_keys=True) + "\n"
            write_text_atomic(os.path.join(self.config.out, name), text)

    def run(self) -> dict[str, Any]:
        """Train (or resume) to ``config.steps``; a summary dict (steps, losses, validations).

        The chief holds the run folder's lock meanwhile: a second run on the same folder
        stops with ``FolderBusyError`` instead of mixing its checkpoints in.
        """
        os.makedirs(self.config.out, exist_ok=True)
        self._build()
        if not self.chief:
            return self._run()
        with folder_lock(self.config.out, "training run"):
            return self._run()

    def _run(self) -> dict[str, Any]:
        config = self.config
        start = self.checkpoints.restore()
        self._restore_best_log_loss()
        if start:
            self._log(f"Resuming {config.out} from step {start} (checkpoint ckpt-{start}).")
        feeder, data_mode = self._feeder(start)
        if self.chief:
            runs.write_config(config.out, config.to_dict())
            runs.write_preset(config.out, self.preset)
        self._train_step = self._make_train_step()
        self._eval_step = self._make_eval_step() if self.val_data is not None else None
        self._bn_forward = None  # the traced forward pass of refresh_batch_norm
        writers = self._summary_writers()
        history: dict[str, Any] = {
            "start_step": start,
            "data_position": data_mode,
            "losses": [],
            "validations": [],
        }
        window = collections.deque(maxlen=_AUC_WINDOW)
        frames = self.preset.frames if self.preset.sequence else 1
        bar = self._progress_bar(start)
        step, tick, tick_step = start, time.perf_counter(), start
        first_step_seconds, step_seconds = None, 0.0
        while step < config.steps:
            began = time.perf_counter()
            loss, logits, labels = self._train_step(feeder.next())
            loss = float(np.asarray(loss))
            spent = time.perf_counter() - began
            if first_step_seconds is None:
                first_step_seconds = spent  # includes tracing
            else:
                step_seconds += spent
            step += 1
            self.step.assign(step)
            if not math.isfinite(loss):
                raise FloatingPointError(
                    f"Training loss became {loss} at step {step}; lower --lr or check the data."
                )
            history["losses"].append(loss)
            window.extend(zip(np.asarray(logits).tolist(), np.asarray(labels).tolist()))
            if bar is not None or step % config.log_every == 0:
                now = time.perf_counter()
                rate = (step - tick_step) * config.data.batch_size * frames / max(now - tick, 1e-9)
                auc = binary_metrics(*_window_arrays(window))["auc"]
                if bar is not None:
                    bar.set_postfix(loss=f"{loss:.4f}", auc=f"{auc:.3f}", img_s=f"{rate:.1f}")
                    bar.update(1)
                if step % config.log_every == 0:
                    write_scalars(
                        writers[0],
                        step,
                        {
                            "loss": loss,
                            "auc": auc,
                            "images_per_second": rate,
                            "learning_rate": self._learning_rate(),
                        },
                    )
                    tick, tick_step = now, step
                    if bar is None:
                        self._log(f"step {step} loss {loss!r} auc {auc:.4f} images/s {rate:.1f}")
            last = step == config.steps
            validating = self.val_data is not None and (
                last or (config.val_every and step % config.val_every == 0)
            )
            if config.bn_refresh_batches and (validating or last):
                self._refresh_batch_norm()
            if validating:
                history["validations"].append(self._validation(step, writers[1]))
            if step % config.checkpoint.every_steps == 0 or last:
                self._sync_variables()
                self.checkpoints.save(step)
        if bar is not None:
            bar.close()
        self._sync_variables()
        if self.chief:
            save_weights_atomic(self.model, os.path.join(config.out, LAST_WEIGHTS))
        timed = step - start - 1  # training steps after the first (which traces)
        rate = (
            timed * config.data.batch_size * frames / step_seconds
            if timed > 0 and step_seconds > 0
            else None
        )
        summary = {
            "steps": step,
            "start_step": start,
            "data_position": data_mode,
            "first_step_seconds": first_step_seconds,
            "images_per_second": rate,
            "first_loss": history["losses"][0] if history["losses"] else None,
            "final_loss": history["losses"][-1] if history["losses"] else None,
            "validations": history["validations"],
            "replicas": self.replicas,
            "workers": self.workers,
            "augment_on": self.augment_on,
            "loss_scale": self._loss_scale(),
            "data": self.data_summary,
        }
        self._write_json("summary.json", summary)
        return {**summary, "losses": history["losses"]}

    def _refresh_batch_norm(self) -> None:
        """Precise BatchNorm statistics from a separate pass over the training data (its
        own pipeline and seed, so the training iterator's position is untouched)."""
        cfg = self.config
        data = self.train_data(tf.distribute.InputContext(), cfg.data.seed + 1_000_003)
        images = (unpack_batch(batch)[0] for batch in data.take(cfg.bn_refresh_batches))
        if self.augment_on == "device":  # uint8 batches: augment and normalise them here
            images = (self.device_augmented(x, self.step) for x in images)
        if self._bn_forward is None:  # one trace for every refresh of the run
            self._bn_forward = tf.function(lambda batch: self.model(batch, training=True))
        refresh_batch_norm(self.model, images, self._bn_forward)

    def _validation(self, step: int, writer) -> dict[str, Any]:
        metrics = {"step": step, **self.validate()}
        write_scalars(writer, step, {k: metrics[k] for k in ("auc", "log_loss", "accuracy")})
        improved = self._improved(metrics)
        if improved:
            self.best.assign(metrics[self.config.checkpoint.best_metric])
            self._best_log_loss = metrics["log_loss"]
            if self.chief:
                save_weights_atomic(self.model, os.path.join(self.config.out, BEST_WEIGHTS))
            self._write_json("best.json", metrics)
        if self.plateau is not None and self.plateau.update(
            metrics[self.config.checkpoint.best_metric]
        ):
            self._log(
                f"step {step}: validation plateau, learning rate -> {self._learning_rate():.3g}"
            )
        self._log(
            f"step {step}: val auc {metrics['auc']:.4f} log loss "
            f"{metrics['log_loss']:.4f} acc {metrics['accuracy']:.4f} "
            f"({metrics['examples']} examples){' *best*' if improved else ''}"
        )
        return metrics

    def _sync_variables(self) -> None:
        """Make the Keras variables current before they are saved (the TensorFlow step
        updates them in place; the JAX trainer keeps its state in arrays between syncs)."""

    def _loss_scale(self) -> float | None:
        """The float16 run's current dynamic loss scale (``LossScaleOptimizer``); None
        without loss scaling."""
        if not self.loss_scaling:
            return None
        return float(keras.ops.convert_to_numpy(self.optimizer.dynamic_scale))

    def _learning_rate(self) -> float:
        inner = getattr(self.optimizer, "inner_optimizer", self.optimizer)
        return float(keras.ops.convert_to_numpy(inner.learning_rate))

    def _summary_writers(self):
        if not self.chief:
            return tf.summary.create_noop_writer(), tf.summary.create_noop_writer()
        logs = os.path.join(self.config.out, "logs")
        return (
            tf.summary.create_file_writer(os.path.join(logs, "train")),
            tf.summary.create_file_writer(os.path.join(logs, "val")),
        )

    def _progress_bar(self, start: int):
        if not (self.config.progress and self.chief):
            return None
        from tqdm import tqdm

        return tqdm(
            total=self.config.steps,
            initial=start,
            desc="train",
            unit="step",
            file=sys.stderr,
            dynamic_ncols=True,
            mininterval=1.0,
        )


def random_states(model: keras.Model) -> dict[str, Any]:
    """The models' random-generator states (dropout seeds) by position.

    Keras' ``SeedGenerator`` is not reachable through the checkpoint's object graph, so these
    variables are checkpointed explicitly: a resumed run draws the same dropout masks.
    """
    states = [v for v in model.non_trainable_variables if "seed_generator_state" in v.path]
    return {f"seed_{i}": v for i, v in enumerate(states)}


def write_scalars(writer, step: int, values: dict[str, float]) -> None:
    """Write TensorBoard scalars with the low-level ``tf.summary.write`` (the ``tensorboard``
    package, which ``tf.summary.scalar`` imports, is not a dependency)."""
    from tensorflow.core.framework import summary_pb2

    metadata = summary_pb2.SummaryMetadata(data_class=summary_pb2.DATA_CLASS_SCALAR)
    metadata.plugin_data.plugin_name = "scalars"
    with writer.as_default(step=step):
        for tag, value in values.items():
            tf.summary.write(tag, tf.constant(value, tf.float32), metadata=metadata)
    writer.flush()


def _window_arrays(window) -> tuple[np.ndarray, np.ndarray]:
    if not window:
        return np.zeros(0), np.zeros(0)
    logits, labels = zip(*window)
    return np.asarray(labels), np.asarray(logits)


def _recipe_name(preset: Any) -> str:
    """The augmentation recipe ``preset``'s family trains with ("b4" or "b7")."""
    from tfdeepfake.data.augment import resolve_augment

    return resolve_augment(True, preset).name


def augment_placement(config: TrainConfig, preset: Any, accelerated: bool) -> str:
    """``host`` or ``device``: where training batches are augmented (``DataConfig.augment_on``;
    ``auto`` is ``device`` on an accelerator for a recipe ``device_augment`` runs)."""
    cfg = config.data
    if not cfg.augment or cfg.augment_on == "host":
        return "host"
    recipe = _recipe_name(preset)
    supported = recipe in device_augment.RECIPES and config.loss.name != "triplet"
    if cfg.augment_on == "auto":
        return "device" if accelerated and supported else "host"
    if not supported:
        raise ValueError(
            f"data.augment_on='device' runs the {', '.join(device_augment.RECIPES)} recipe on "
            f"frame and clip batches; {preset.name!r} trains with the {recipe!r} recipe"
            f"{' and triplet batches' if config.loss.name == 'triplet' else ''}: pass "
            "--augment-on host."
        )
    return "device"


def make_dataset_fn(
    config: TrainConfig, preset: Any, training: bool, on_device: bool = False
) -> DatasetFn:
    """The dataset function reading ``config.data.train`` (or ``.val``) shards for ``preset``;
    ``on_device``: uint8 images, not augmented (the step augments them)."""
    from tfdeepfake import data as tfdata

    cfg = config.data
    source = cfg.train if training else cfg.val
    batch_size = cfg.batch_size if training else (cfg.val_batch_size or cfg.batch_size)
    options = {}  # what the frame and clip readers take beyond the triplet reader's options
    if training and config.loss.name == "triplet":
        if config.loss.mask_weight > 0:
            raise ValueError(
                "loss.name=triplet reads triplets without SSIM masks: set loss.mask_weight=0."
            )
        if cfg.fakes != "shards":
            raise ValueError(
                "loss.name=triplet draws its fakes from the shards; data.fakes=sbi works with "
                "the bce and balanced_bce losses."
            )
        reader = tfdata.triplet_dataset
    else:
        reader = tfdata.clip_dataset if preset.sequence else tfdata.frame_dataset
        options = {"balance": cfg.balance and training,
                   "with_masks": config.loss.mask_weight > 0 and training,
                   "fakes": cfg.fakes if training else "shards",
                   "normalised": not on_device}

    def dataset_fn(input_context: tf.distribute.InputContext, seed: int) -> tf.data.Dataset:
        return reader(
            source,
            preset,
            batch_size=batch_size,
            training=training,
            seed=seed,
            augment=cfg.augment and training and not on_device,
            input_context=input_context,
            skip_corrupt=cfg.skip_corrupt,
            **options,
        )

    return dataset_fn


def check_backend(wanted: str, trainer: str, trains: str) -> None:
    """Raise a ``ValueError`` with the fix unless ``trainer`` (training on ``trains``) fits
    backend ``wanted`` and Keras runs on it in this process."""
    if wanted != trains:
        raise ValueError(
            f"{trainer} trains on the {trains} backend but the config says backend={wanted!r}: "
            "call tfdeepfake.training.train(config), which picks the trainer."
        )
    running = keras.backend.backend()
    if running != wanted:
        raise ValueError(
            f"backend={wanted!r} but Keras runs on {running!r} in this process (the backend is "
            f"fixed when Keras is imported): run `tfdeepfake train --backend {wanted}`, which "
            f"selects it, or set KERAS_BACKEND={wanted} before importing keras or tensorflow."
        )


def init_weights_file(path: str) -> str:
    """``path`` if it is a weights file, else the run folder's ``best.weights.h5``."""
    candidate = os.path.join(path, BEST_WEIGHTS) if os.path.isdir(path) else path
    if not os.path.isfile(candidate):
        raise ValueError(
            f"model.init_weights {path!r}: no weights file there; pass a run folder with "
            "best.weights.h5 (train, weights import) or a .weights.h5 file."
        )
    return candidate


def set_trainable(model: keras.Model, which: str) -> None:
    """``all``: everything trains; ``layer_norms``: only LayerNormalization layers and the
    ``logit`` head (GenD's recipe); raises when the model has no LayerNorm to tune."""
    if which == "all":
        return
    tuned = [
        layer for layer in sublayers(model)
        if isinstance(layer, keras.layers.LayerNormalization) or layer.name == "logit"
    ]
    if not any(isinstance(layer, keras.layers.LayerNormalization) for layer in tuned):
        raise ValueError(
            f"model.trainable='layer_norms' but {model.name!r} has no LayerNormalization layers; "
            "use it with the GenD presets (gend_*), or model.trainable='all'."
        )
    for layer in sublayers(model):
        layer.trainable = False
    for layer in tuned:
        layer.trainable = True
