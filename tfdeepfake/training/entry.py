"""``train(config)``: the one entry point that picks the trainer for ``config.backend``
(TensorFlow's ``Trainer`` or JAX's ``JaxTrainer``); neither trainer module imports the other's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tfdeepfake.training.config import TrainConfig

if TYPE_CHECKING:
    from tfdeepfake.training.inputs import DatasetFn


def train(
    config: TrainConfig | dict[str, Any],
    train_data: DatasetFn | None = None,
    val_data: DatasetFn | None = None,
) -> dict[str, Any]:
    """Train (or resume) the run described by ``config`` (a ``TrainConfig``, or a nested
    dict of its fields, checked like a config file) on ``config.backend``; a summary dict
    (see ``Trainer``)."""
    if isinstance(config, dict):
        config = TrainConfig.from_dict(config, source="train(config)").validate(
            require_data=train_data is None
        )
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig or a dict, got {type(config).__name__}; "
                        "build one with resolve_config(model, overrides={...}).")
    if config.backend == "jax":
        from tfdeepfake.training.jax_trainer import JaxTrainer

        return JaxTrainer(config, train_data, val_data).run()
    from tfdeepfake.training.trainer import Trainer

    return Trainer(config, train_data, val_data).run()
