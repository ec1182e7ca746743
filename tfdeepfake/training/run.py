"""A training run's view of a run folder (``tfdeepfake.runs`` owns the layout): the saved
``TrainConfig`` and ``load_run`` returning ``(model, preset, config)``."""

from __future__ import annotations

import os
from typing import Any

from tfdeepfake import runs
from tfdeepfake.training.config import TrainConfig


def load_config(run_dir: str) -> TrainConfig:
    """The ``TrainConfig`` saved in ``RUN_DIR/config.json``."""
    return TrainConfig.from_dict(runs.read_config(run_dir, required=True),
                                 source=os.path.join(run_dir, runs.CONFIG_FILE))


def load_run(run_dir: str, which: str = "best") -> tuple[Any, Any, TrainConfig | None]:
    """Rebuild a trained model from a run folder: ``(model, preset, config)``.

    Loads ``best.weights.h5`` (the best on validation), else ``last.weights.h5``, else the
    newest checkpoint (a run that is still going or died); ``which="last"`` skips the best.
    ``config`` is None for a folder of imported weights (no training happened). Which file
    was loaded: ``tfdeepfake.runs.load_run(run_dir).weights_source``.

    Example:
        >>> model, preset, config = load_run("runs/b4")
        >>> logits = model(images)["logit"]
    """
    run = runs.load_run(run_dir, which)
    config = None if run.config is None else TrainConfig.from_dict(
        run.config, source=os.path.join(run_dir, runs.CONFIG_FILE))
    return run.model, run.preset, config
