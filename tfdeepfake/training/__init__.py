"""Training on TFRecords with tf.distribute: configs, losses, strategies, the trainer, run folders.

Imported lazily, so ``import tfdeepfake.training`` does not load TensorFlow until a name that
needs it is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tfdeepfake._lazy import lazy_exports

if TYPE_CHECKING:
    from tfdeepfake.training.config import (
        CheckpointConfig,
        DataConfig,
        LossConfig,
        ModelConfig,
        OptimizerConfig,
        TrainConfig,
        resolve_config,
    )
    from tfdeepfake.training.entry import train
    from tfdeepfake.training.inputs import check_data
    from tfdeepfake.training.optimizers import build_optimizer
    from tfdeepfake.training.run import load_run
    from tfdeepfake.training.strategy import make_strategy
    from tfdeepfake.training.trainer import Trainer

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
