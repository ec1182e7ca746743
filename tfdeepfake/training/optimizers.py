"""Optimisers and learning-rate schedules of the references, built from an ``OptimizerConfig``.

- Adam + reduce-on-plateau (icpr2020dfdc: lr 1e-5, factor 0.1, patience 10 validations);
- SGD nesterov (momentum 0.9, weight decay 1e-4) + polynomial decay (DFDC winner, lr 0.01);
- AdamW + cosine decay (with optional linear warm-up).

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


def learning_rate_schedule(config: OptimizerConfig, total_steps: int):
    """A float (constant, plateau) or a Keras schedule (poly, cosine) for ``total_steps``."""
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
    raise ValueError(
        f"optimizer.schedule must be constant, plateau, poly or cosine; got {config.schedule!r}."
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
