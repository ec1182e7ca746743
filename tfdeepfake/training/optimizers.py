"""Optimisers and learning-rate schedules of the references, built from an ``OptimizerConfig``.

- Adam + reduce-on-plateau (icpr2020dfdc: lr 1e-5, factor 0.1, patience 10 validations);
- SGD nesterov (momentum 0.9, weight decay 1e-4) + polynomial decay (DFDC winner, lr 0.01);
- AdamW + cosine decay (with optional linear warm-up);
- cosine warm restarts (SGDR, Loshchilov & Hutter 2017; GenD's ``cyclic`` scheduler): cosine
  decay over a cycle of ``restart_steps``, then back to the peak; each cycle ``restart_mult``
  times longer and its peak ``restart_decay`` times lower.

Keras' weight decay is decoupled (``w -= lr * wd * w``); for SGD that is the same step as
PyTorch's coupled L2 term before momentum, up to the momentum's smoothing.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tfdeepfake.training.config import OptimizerConfig


class WarmupPolynomialDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to ``peak`` over ``warmup_steps``, then poly decay ``(1 - t/T)^power``."""

    def __init__(
        self,
        peak: float,
        total_steps: int,
        warmup_steps: int = 0,
        end: float = 0.0,
        power: float = 0.9,
    ):
        self.peak, self.total_steps, self.warmup_steps = peak, total_steps, warmup_steps
        self.end, self.power = end, power

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        warm = float(max(self.warmup_steps, 1))
        decay_steps = float(max(self.total_steps - self.warmup_steps, 1))
        progress = keras.ops.clip((step - self.warmup_steps) / decay_steps, 0.0, 1.0)
        decayed = (self.peak - self.end) * (1.0 - progress) ** self.power + self.end
        warming = self.peak * (step + 1.0) / warm
        return keras.ops.where(step < self.warmup_steps, warming, decayed)

    def get_config(self):
        return {
            "peak": self.peak,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "end": self.end,
            "power": self.power,
        }


class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to ``peak`` over ``warmup_steps``, then ``after(step - warmup_steps)``."""

    def __init__(self, peak: float, warmup_steps: int, after):
        self.peak, self.warmup_steps, self.after = peak, warmup_steps, after

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        warming = self.peak * (step + 1.0) / float(max(self.warmup_steps, 1))
        later = self.after(keras.ops.maximum(step - self.warmup_steps, 0.0))
        return keras.ops.where(step < self.warmup_steps, warming, later)

    def get_config(self):
        return {"peak": self.peak, "warmup_steps": self.warmup_steps,
                "after": keras.optimizers.schedules.serialize(self.after)}

    @classmethod
    def from_config(cls, config):
        after = keras.optimizers.schedules.deserialize(config.pop("after"))
        return cls(after=after, **config)


def warm_restarts(config: OptimizerConfig, total_steps: int):
    """SGDR (see the module docstring); ``restart_steps`` 0 means a quarter of the run."""
    first = config.restart_steps or max((total_steps - config.warmup_steps) // 4, 1)
    restarts = keras.optimizers.schedules.CosineDecayRestarts(
        config.learning_rate,
        first,
        t_mul=config.restart_mult,
        m_mul=config.restart_decay,
        alpha=config.end_learning_rate / config.learning_rate,
    )
    if config.warmup_steps > 0:
        return WarmupSchedule(config.learning_rate, config.warmup_steps, restarts)
    return restarts


def learning_rate_schedule(config: OptimizerConfig, total_steps: int):
    """A float (constant, plateau) or a Keras schedule (poly, cosine, cosine_restarts) for
    ``total_steps``."""
    lr = config.learning_rate
    if config.schedule in ("constant", "plateau"):
        return lr
    if config.schedule == "poly":
        return WarmupPolynomialDecay(
            lr, total_steps, config.warmup_steps, config.end_learning_rate, config.poly_power
        )
    if config.schedule == "cosine":
        alpha = config.end_learning_rate / lr
        if config.warmup_steps > 0:
            return keras.optimizers.schedules.CosineDecay(
                0.0,
                max(total_steps - config.warmup_steps, 1),
                alpha=alpha,
                warmup_target=lr,
                warmup_steps=config.warmup_steps,
            )
        return keras.optimizers.schedules.CosineDecay(lr, max(total_steps, 1), alpha=alpha)
    if config.schedule == "cosine_restarts":
        return warm_restarts(config, total_steps)
    raise ValueError(
        "optimizer.schedule must be constant, plateau, poly, cosine or cosine_restarts; got "
        f"{config.schedule!r}."
    )


def build_optimizer(config: OptimizerConfig, total_steps: int) -> keras.optimizers.Optimizer:
    """The Keras optimiser of ``config`` with its schedule (build it inside the strategy scope)."""
    lr = learning_rate_schedule(config, total_steps)
    extra = {"clipnorm": config.clipnorm} if config.clipnorm > 0 else {}
    wd = config.weight_decay or None
    if config.name == "adam":
        return keras.optimizers.Adam(lr, weight_decay=wd, **extra)
    if config.name == "adamw":
        return keras.optimizers.AdamW(lr, weight_decay=config.weight_decay or 0.004, **extra)
    if config.name == "sgd":
        return keras.optimizers.SGD(
            lr, momentum=config.momentum, nesterov=config.nesterov, weight_decay=wd, **extra
        )
    raise ValueError(f"optimizer.name must be adam, sgd or adamw; got {config.name!r}.")


class PlateauController(tf.Module):
    """Reduce the optimiser's learning rate by ``factor`` after ``patience`` validations without
    improvement of the monitored metric (higher is better for AUC, lower for log loss).

    Its state (best value, validations waited) is a pair of variables, so it is checkpointed
    with the run and a resumed run keeps counting.
    """

    def __init__(
        self,
        optimizer: keras.optimizers.Optimizer,
        factor: float = 0.1,
        patience: int = 10,
        min_lr: float = 0.0,
        higher_is_better: bool = True,
    ):
        super().__init__(name="plateau")
        self.optimizer, self.factor, self.patience = optimizer, factor, patience
        self.min_lr, self.sign = min_lr, 1.0 if higher_is_better else -1.0
        self.best = tf.Variable(-float("inf"), trainable=False, name="best")
        self.wait = tf.Variable(0, trainable=False, name="wait", dtype=tf.int64)

    def update(self, value: float) -> bool:
        """Record one validation; return True when the learning rate was reduced."""
        score = self.sign * float(value)
        if score > float(self.best.numpy()):
            self.best.assign(score)
            self.wait.assign(0)
            return False
        self.wait.assign_add(1)
        if int(self.wait.numpy()) < self.patience:
            return False
        self.wait.assign(0)
        lr = float(keras.ops.convert_to_numpy(self.optimizer.learning_rate))
        new_lr = max(lr * self.factor, self.min_lr)
        self.optimizer.learning_rate = new_lr
        return new_lr < lr
