"""Training on TFRecords with tf.distribute: configs, losses, strategies, the trainer, run folders.

Imported lazily, so ``import tfdeepfake.training`` does not load TensorFlow until a name that
needs it is used.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "TrainConfig": "tfdeepfake.training.config",
    "ModelConfig": "tfdeepfake.training.config",
    "DataConfig": "tfdeepfake.training.config",
    "OptimizerConfig": "tfdeepfake.training.config",
    "LossConfig": "tfdeepfake.training.config",
    "CheckpointConfig": "tfdeepfake.training.config",
    "resolve_config": "tfdeepfake.training.config",
    "Trainer": "tfdeepfake.training.trainer",
    "train": "tfdeepfake.training.trainer",
    "load_run": "tfdeepfake.training.run",
    "make_strategy": "tfdeepfake.training.strategy",
    "build_optimizer": "tfdeepfake.training.optimizers",
    "check_data": "tfdeepfake.training.inputs",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tfdeepfake.training' has no attribute {name!r}")
