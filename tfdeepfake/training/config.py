"""Training configuration: documented dataclasses, their defaults per model family, merging.

Precedence, lowest first: the dataclass defaults, the defaults of the model's family
(``FAMILY_DEFAULTS``: the reference recipes), a ``--config`` file (YAML or JSON), and the
command-line flags. The final config is saved as ``RUN_DIR/config.json``.

Example:
    >>> config = resolve_config("autoatt_b4_tiny", overrides={"steps": 50, "out": "runs/a"})
    >>> config.optimizer.name, config.steps
    ('adam', 50)
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from tfdeepfake.safeio import write_text_atomic

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")
BACKENDS = ("tensorflow", "jax")
JAX_STRATEGIES = ("default", "mirrored")  # both: data parallel over every device
OPTIMIZERS = ("adam", "sgd", "adamw")
SCHEDULES = ("constant", "plateau", "poly", "cosine", "cosine_restarts")
LOSSES = ("bce", "balanced_bce", "triplet")
TRAINABLE = ("all", "layer_norms")
FAKES = ("shards", "sbi")
AUGMENT_ON = ("auto", "host", "device")
MIXED_PRECISION = ("off", "auto", "float16", "bfloat16")


@dataclasses.dataclass
class ModelConfig:
    """Which detector to train.

    Attributes:
        name: preset name (``tfdeepfake models`` lists them).
        overrides: preset overrides passed to ``create_model(name, **overrides)``.
        trainable: ``all`` or ``layer_norms`` (only the LayerNormalization layers and the
            ``logit`` head train: GenD's recipe; the rest stays as initialised).
        init_weights: a run folder (its ``best.weights.h5``, e.g. an imported GenD) or a
            ``.weights.h5`` file to start from; "" for the preset's initialisation.
    """

    name: str = ""
    overrides: dict[str, Any] = dataclasses.field(default_factory=dict)
    trainable: str = "all"
    init_weights: str = ""


@dataclasses.dataclass
class DataConfig:
    """Where the shards are and how batches are made.

    Attributes:
        train: folder (or glob) of training shards.
        val: folder (or glob) of validation shards; "" for none.
        batch_size: global batch size (split evenly over the replicas).
        val_batch_size: global validation batch size (0: same as ``batch_size``).
        val_steps: validation batches per validation (0: the whole validation set).
        augment: apply the references' augmentations to training batches.
        augment_on: where: ``host`` (tf.data, on the CPU cores), ``device`` (the b4 recipe
            in ``keras.ops`` inside the compiled step on uint8 batches:
            ``training.device_augment``; tf.data only decodes and crops) or ``auto``
            (``device`` on the JAX backend with a GPU/TPU and a b4-recipe model, else
            ``host``: without an accelerator the step and tf.data share the same cores,
            and tf.data overlaps its work with the step).
        balance: sample real and fake equally in training batches.
        seed: seed of shuffling and augmentation.
        skip_corrupt: skip (and count) records that fail to decode instead of stopping.
        fakes: where training fakes come from: ``shards`` (the shards' fake tracks) or
            ``sbi`` (self-blended images made on the fly from the real tracks only; the
            shards' fakes are not read: ``tfdeepfake.data.sbi``). Validation reads the
            validation shards as they are.
    """

    train: str = ""
    val: str = ""
    batch_size: int = 32
    val_batch_size: int = 0
    val_steps: int = 0
    augment: bool = True
    augment_on: str = "auto"
    balance: bool = True
    seed: int = 0
    skip_corrupt: bool = False
    fakes: str = "shards"


@dataclasses.dataclass
class OptimizerConfig:
    """Optimiser and learning-rate schedule.

    Attributes:
        name: ``adam``, ``sgd`` (nesterov momentum) or ``adamw``.
        learning_rate: initial (peak) learning rate.
        weight_decay: decoupled weight decay (sgd, adamw); 0 for none.
        momentum: SGD momentum.
        nesterov: SGD nesterov momentum.
        clipnorm: clip each gradient to this norm; 0 for none.
        schedule: ``constant``, ``plateau`` (reduce on a validation plateau), ``poly``
            (polynomial decay to ``end_learning_rate`` over the run), ``cosine`` or
            ``cosine_restarts`` (SGDR: cosine cycles that restart at the peak; GenD's
            ``cyclic`` scheduler).
        warmup_steps: linear warm-up steps (poly, cosine, cosine_restarts).
        poly_power: power of the polynomial decay.
        end_learning_rate: final learning rate of poly/cosine (of each cycle of
            cosine_restarts), lower bound of plateau.
        restart_steps: steps of the first cosine_restarts cycle (0: a quarter of the run).
        restart_mult: each cosine_restarts cycle is this many times longer than the last.
        restart_decay: each cosine_restarts cycle starts this many times lower than the last.
        plateau_factor: factor applied to the learning rate on a plateau.
        plateau_patience: validations without improvement before reducing.
    """

    name: str = "adam"
    learning_rate: float = 1e-4
    weight_decay: float = 0.0
    momentum: float = 0.9
    nesterov: bool = True
    clipnorm: float = 0.0
    schedule: str = "constant"
    warmup_steps: int = 0
    poly_power: float = 0.9
    end_learning_rate: float = 0.0
    restart_steps: int = 0
    restart_mult: float = 1.0
    restart_decay: float = 1.0
    plateau_factor: float = 0.1
    plateau_patience: int = 10


@dataclasses.dataclass
class LossConfig:
    """Training objective.

    Attributes:
        name: ``bce`` (binary cross-entropy on logits), ``balanced_bce`` (mean of the
            fake-BCE and the real-BCE of each batch, the DFDC winner's) or ``triplet``
            (margin loss on the ``features`` output; needs triplet batches).
        label_clip: clip labels to [label_clip, 1 - label_clip] (0: none; DFDC winner 0.01).
        triplet_margin: margin of the triplet loss (L2 distance).
        mask_weight: weight of the attention-to-SSIM-mask auxiliary loss (models with an
            ``attention`` output trained on shards with masks); 0 disables it.
        uniformity_weight: weight of the uniformity term (Wang & Isola 2020) on the
            L2-normalised ``features`` output: ``log mean exp(-t |f_i - f_j|^2)``; 0 disables it.
        alignment_weight: weight of the label-aware alignment term (GenD's variant): mean
            ``|f_i - f_j|^alpha`` over pairs of the batch with the same label; 0 disables it.
        uniformity_t: the uniformity term's temperature ``t`` (2 in both papers).
        alignment_alpha: the alignment term's power ``alpha`` (2 in both papers).
    """

    name: str = "bce"
    label_clip: float = 0.0
    triplet_margin: float = 1.0
    mask_weight: float = 0.0
    uniformity_weight: float = 0.0
    alignment_weight: float = 0.0
    uniformity_t: float = 2.0
    alignment_alpha: float = 2.0


@dataclasses.dataclass
class CheckpointConfig:
    """Checkpoints and the best model.

    Attributes:
        every_steps: save a checkpoint every this many steps (and at the end).
        keep: checkpoints kept on disk.
        data_state: also checkpoint the tf.data iterators (exact data position on resume;
            per-replica input pipelines). False: ``distribute_datasets_from_function`` and a
            re-seeded shuffle on resume. Always False under the TPU strategy.
        best_metric: validation metric that selects ``best.weights.h5``: ``auc`` (higher is
            better) or ``log_loss`` (lower is better).
    """

    every_steps: int = 100
    keep: int = 3
    data_state: bool = True
    best_metric: str = "auc"


@dataclasses.dataclass
class DistributedConfig:
    """Multi-host training on the JAX backend (``training.jax_processes``): every host runs
    the same command with its own ``process_id``; ``jax.distributed`` joins them.

    Attributes:
        coordinator: ``HOST:PORT`` of process 0 (every process passes the same), ``auto``
            (JAX's cluster detection: SLURM, Open MPI, Cloud TPU, Kubernetes), or "" for a
            single process.
        num_processes: how many processes; 0: from the cluster's environment.
        process_id: this process's index, 0 to ``num_processes - 1``; -1: from the
            cluster's environment.
    """

    coordinator: str = ""
    num_processes: int = 0
    process_id: int = -1


@dataclasses.dataclass
class TrainConfig:
    """Everything one training run needs; saved as ``RUN_DIR/config.json``.

    Attributes:
        out: the run folder (checkpoints, logs, best weights, config).
        steps: total optimiser steps of the run.
        val_every: validate every this many steps (and at the end); 0: only at the end.
        log_every: write TensorBoard scalars every this many steps.
        backend: ``tensorflow`` (the custom ``tf.distribute`` loop) or ``jax`` (a jitted
            step, data parallel over every device of every process; Keras must run on JAX:
            ``tfdeepfake train --backend jax`` sets it up).
        strategy: ``default``, ``mirrored``, ``multi_worker`` or ``tpu`` (``tensorflow``);
            under ``jax`` only ``default``/``mirrored``, both every device of every process
            (multi-host: ``distributed``).
        tpu: TPU name or address for the TPU cluster resolver ("" = the local TPU).
        mixed_precision: ``off`` (float32), ``float16`` (mixed_float16 with dynamic loss
            scaling: Keras' ``LossScaleOptimizer``, its scale checkpointed), ``bfloat16``
            (mixed_bfloat16, no scaling) or ``auto`` (float16 on a GPU, bfloat16 on CPU and
            TPU). ``true``/``false`` (older configs) read as ``auto``/``off``.
        progress: show a progress bar.
        bn_refresh_batches: before each validation and the final save, set BatchNorm's
            population statistics to the mean over this many training batches with the
            current weights (``models.batchnorm``): short runs whose moving averages lag
            the weights need it; 0 keeps the moving averages. Default strategy and the
            TensorFlow backend only.
    """

    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    optimizer: OptimizerConfig = dataclasses.field(default_factory=OptimizerConfig)
    loss: LossConfig = dataclasses.field(default_factory=LossConfig)
    checkpoint: CheckpointConfig = dataclasses.field(default_factory=CheckpointConfig)
    out: str = ""
    steps: int = 1000
    val_every: int = 500
    log_every: int = 10
    backend: str = "tensorflow"
    strategy: str = "default"
    tpu: str = ""
    mixed_precision: str = "off"
    progress: bool = True
    bn_refresh_batches: int = 0
    distributed: DistributedConfig = dataclasses.field(default_factory=DistributedConfig)

    def __post_init__(self) -> None:
        # The boolean of older configs and of a bare --mixed-precision.
        if isinstance(self.mixed_precision, bool) or str(self.mixed_precision).lower() in (
            "true", "false"
        ):
            on = str(self.mixed_precision).lower() == "true"
            self.mixed_precision = "auto" if on else "off"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable nested dict."""
        return dataclasses.asdict(self)

    def save(self, path: str) -> None:
        """Write the config as indented JSON."""
        write_text_atomic(path, json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "config") -> TrainConfig:
        """Build from a nested dict; unknown keys raise an error naming the key and ``source``."""
        return _build(cls, values, source)

    def validate(self, require_data: bool = True) -> TrainConfig:
        """Check the values; raise a ``ValueError`` naming the field and its allowed values.

        ``require_data=False`` accepts an empty ``data.train`` (data given as a function).
        """
        checks = [
            ("backend", self.backend, BACKENDS),
            ("strategy", self.strategy, STRATEGIES),
            ("optimizer.name", self.optimizer.name, OPTIMIZERS),
            ("optimizer.schedule", self.optimizer.schedule, SCHEDULES),
            ("loss.name", self.loss.name, LOSSES),
            ("model.trainable", self.model.trainable, TRAINABLE),
            ("data.fakes", self.data.fakes, FAKES),
            ("data.augment_on", self.data.augment_on, AUGMENT_ON),
            ("mixed_precision", self.mixed_precision, MIXED_PRECISION),
            ("checkpoint.best_metric", self.checkpoint.best_metric, ("auc", "log_loss")),
        ]
        for field, value, allowed in checks:
            if value not in allowed:
                raise ValueError(f"{field} must be one of {', '.join(allowed)}; got {value!r}.")
        if self.backend == "jax" and self.strategy not in JAX_STRATEGIES:
            raise ValueError(
                f"strategy={self.strategy!r} is a TensorFlow strategy; under backend=jax "
                "training is data parallel over every device (strategy default; several hosts: "
                "--coordinator). Use --backend tensorflow for TensorFlow's multi-worker or TPU "
                "training."
            )
        self._validate_distributed()
        if not self.model.name:
            raise ValueError("No model given: pass --model NAME (see `tfdeepfake models`).")
        if require_data and not self.data.train:
            raise ValueError("No training data given: pass --data DIR (a folder of shards).")
        if not self.out:
            raise ValueError("No run folder given: pass --out RUN_DIR.")
        for field, value in (
            ("steps", self.steps),
            ("data.batch_size", self.data.batch_size),
            ("checkpoint.every_steps", self.checkpoint.every_steps),
            ("log_every", self.log_every),
        ):
            if value < 1:
                raise ValueError(f"{field} must be at least 1; got {value}.")
        for field, value in (
            ("val_every", self.val_every), ("data.val_steps", self.data.val_steps)
        ):
            if value < 0:
                raise ValueError(f"{field} must be 0 or positive; got {value}.")
        if self.bn_refresh_batches < 0:
            raise ValueError(
                f"bn_refresh_batches must be 0 (off) or positive; got {self.bn_refresh_batches}."
            )
        if self.bn_refresh_batches and (self.strategy != "default" or self.backend != "tensorflow"):
            raise ValueError(
                "bn_refresh_batches works with strategy=default and backend=tensorflow only "
                f"(got {self.strategy!r}, {self.backend!r}): set bn_refresh_batches=0 or train "
                "with the default strategy on the TensorFlow backend."
            )
        if not 0.0 <= self.loss.label_clip < 0.5:
            raise ValueError(f"loss.label_clip must be in [0, 0.5); got {self.loss.label_clip}.")
        if self.optimizer.learning_rate <= 0:
            raise ValueError(
                f"optimizer.learning_rate must be positive; got {self.optimizer.learning_rate}."
            )
        opt, loss = self.optimizer, self.loss
        for field, value, ok, allowed in (
            ("optimizer.restart_steps", opt.restart_steps, opt.restart_steps >= 0, ">= 0"),
            ("optimizer.restart_mult", opt.restart_mult, opt.restart_mult > 0, "> 0"),
            ("optimizer.restart_decay", opt.restart_decay, 0 < opt.restart_decay <= 1,
             "in (0, 1]"),
            ("loss.uniformity_weight", loss.uniformity_weight, loss.uniformity_weight >= 0,
             ">= 0"),
            ("loss.alignment_weight", loss.alignment_weight, loss.alignment_weight >= 0, ">= 0"),
        ):
            if not ok:
                raise ValueError(f"{field} must be {allowed}; got {value}.")
        return self

    def _validate_distributed(self) -> None:
        dist = self.distributed
        if not dist.coordinator:
            return
        if self.backend != "jax":
            raise ValueError(
                f"distributed.coordinator={dist.coordinator!r} starts JAX's multi-process "
                "runtime: pass --backend jax, or train on TensorFlow with --strategy "
                "multi_worker and TF_CONFIG."
            )
        if dist.num_processes < 0 or dist.process_id < -1:
            raise ValueError(
                f"distributed.num_processes must be >= 1 (0: from the cluster) and "
                f"distributed.process_id >= 0 (-1: from the cluster); got "
                f"{dist.num_processes} and {dist.process_id}."
            )
        if dist.num_processes and dist.process_id >= dist.num_processes:
            raise ValueError(
                f"distributed.process_id {dist.process_id} is not below num_processes "
                f"{dist.num_processes}: number the processes 0 to {dist.num_processes - 1}."
            )


# The reference recipes (REFERENCES.md), per model family; tiny presets share them.
FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    "autoatt_b4": {  # icpr2020dfdc: Adam 1e-5, ReduceLROnPlateau(0.1, 10), batch 32, BCE
        "data": {"batch_size": 32},
        "optimizer": {
            "name": "adam",
            "learning_rate": 1e-5,
            "schedule": "plateau",
            "plateau_factor": 0.1,
            "plateau_patience": 10,
        },
        "loss": {"name": "bce"},
        "val_every": 500,
    },
    "b7_ssim": {  # DFDC winner: SGD nesterov 0.01 poly, wd 1e-4, clip 0.01, balanced BCE
        "data": {"batch_size": 12},
        "optimizer": {
            "name": "sgd",
            "learning_rate": 0.01,
            "momentum": 0.9,
            "nesterov": True,
            "weight_decay": 1e-4,
            "schedule": "poly",
            "poly_power": 0.9,
        },
        "loss": {"name": "balanced_bce", "label_clip": 0.01, "mask_weight": 0.1},
    },
    "gend": {  # GenD: LayerNorms + head only, AdamW 3e-4, no weight decay, cosine (batch 512
        # on GPUs in the paper; 32 here), cross-entropy
        "model": {"trainable": "layer_norms"},
        "data": {"batch_size": 32},
        "optimizer": {"name": "adamw", "learning_rate": 3e-4, "weight_decay": 0.0,
                      "schedule": "cosine"},
        "loss": {"name": "bce"},
    },
    "resnet_lstm": {  # the ResNeXt-LSTM reference: Adam 1e-5, batch 4 clips, BCE
        "data": {"batch_size": 4, "balance": True},
        "optimizer": {
            "name": "adam",
            "learning_rate": 1e-5,
            "weight_decay": 1e-3,
            "schedule": "constant",
        },
        "loss": {"name": "bce"},
    },
}


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``update`` into a copy of ``base`` (nested dicts merge, other values replace)."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "overrides":
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def load_config_file(path: str) -> dict[str, Any]:
    """Read a YAML (``.yaml``/``.yml``) or JSON config file into a nested dict."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Config file {path!r} does not exist; check the --config path.")
    with open(path) as f:
        text = f.read()
    try:
        if path.endswith((".yaml", ".yml")):
            import yaml

            values = yaml.safe_load(text) or {}
        else:
            values = json.loads(text)
    except Exception as err:
        raise ValueError(f"Config file {path!r} is not valid YAML/JSON: {err}") from err
    if not isinstance(values, dict):
        raise ValueError(f"Config file {path!r} must hold a mapping of settings at the top level.")
    return values


def resolve_config(
    model: str,
    config_file: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> TrainConfig:
    """Dataclass defaults < family defaults of ``model`` < ``config_file`` < ``overrides``.

    ``overrides`` is a nested dict (e.g. ``{"data": {"batch_size": 8}, "steps": 100}``);
    a ``model`` key inside the file or the overrides may change the model name.
    """
    from tfdeepfake.models import get_preset

    if overrides is not None and not isinstance(overrides, dict):
        raise TypeError(f"overrides must be a nested dict such as {{'steps': 100}}, got "
                        f"{type(overrides).__name__} {overrides!r}.")
    file_values = load_config_file(config_file) if config_file else {}
    name = (
        (overrides or {}).get("model", {}).get("name")
        or file_values.get("model", {}).get("name")
        or model
    )
    family = get_preset(name).family
    values = merge(FAMILY_DEFAULTS.get(family, {}), {"model": {"name": name}})
    values = merge(values, file_values)
    values = merge(values, overrides or {})
    values = merge(values, {"model": {"name": name}})
    return TrainConfig.from_dict(values, source=config_file or "overrides").validate()


def _build(cls: type, values: dict[str, Any], source: str) -> Any:
    if not isinstance(values, dict):
        raise ValueError(f"{source}: expected a mapping for {cls.__name__}, got {values!r}.")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValueError(
            f"{source}: unknown setting(s) {', '.join(unknown)} in {cls.__name__}; "
            f"known: {', '.join(sorted(fields))}."
        )
    kwargs = {}
    for name, value in values.items():
        default = cls().__getattribute__(name) if name in fields else None
        if dataclasses.is_dataclass(default):
            kwargs[name] = _build(type(default), value, f"{source}: {name}")
        elif isinstance(default, bool):
            kwargs[name] = _as_bool(value, f"{source}: {name}")
        elif isinstance(default, (int, float)) and not isinstance(value, bool):
            kwargs[name] = _as_number(type(default), value, f"{source}: {name}")
        else:
            kwargs[name] = value
    return cls(**kwargs)


def _as_number(kind: type, value: Any, where: str) -> int | float:
    """``value`` as ``kind``; a whole-number setting refuses a fraction (3.5 is not 3)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where} must be a number; got {value!r}.") from None
    if kind is int and not number.is_integer():
        raise ValueError(f"{where} must be a whole number; got {value!r}.")
    return kind(number)


def _as_bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.lower() in ("true", "1", "yes")
    raise ValueError(f"{where} must be true or false; got {value!r}.")
