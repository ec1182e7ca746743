"""``train(config)``: the one entry point that picks the trainer for ``config.backend``
(TensorFlow's ``Trainer`` or JAX's ``JaxTrainer``); neither trainer module imports the other's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tfdeepfake.training.config import TrainConfig
    from tfdeepfake.training.inputs import DatasetFn


def train(
    config: TrainConfig, train_data: DatasetFn | None = None, val_data: DatasetFn | None = None
) -> dict[str, Any]:
    """Train (or resume) the run described by ``config`` on ``config.backend``; a summary
    dict (see ``Trainer``)."""
    if config.backend == "jax":
        from tfdeepfake.training.jax_trainer import JaxTrainer

        return JaxTrainer(config, train_data, val_data).run()
    from tfdeepfake.training.trainer import Trainer

    return Trainer(config, train_data, val_data).run()
