"""Run folders: what a training run writes besides checkpoints, and ``load_run`` to read it back.

``RUN_DIR/config.json`` is the resolved ``TrainConfig``; ``RUN_DIR/preset.json`` is the model's
preset (its constructor config and preprocessing contract) after overrides, so the model can
be rebuilt without the registry having to agree.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from tfdeepfake.training.checkpoints import BEST_WEIGHTS, CHECKPOINT_DIR, LAST_WEIGHTS
from tfdeepfake.training.config import TrainConfig

CONFIG_FILE = "config.json"
PRESET_FILE = "preset.json"


def save_preset(preset: Any, run_dir: str) -> None:
    """Write ``RUN_DIR/preset.json``."""
    with open(os.path.join(run_dir, PRESET_FILE), "w") as f:
        json.dump(dataclasses.asdict(preset), f, indent=2, sort_keys=True)
        f.write("\n")


def _tuples(value: Any) -> Any:
    """JSON lists back to the tuples presets use."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def load_preset(run_dir: str) -> Any:
    """The ``Preset`` saved in ``RUN_DIR/preset.json``."""
    from tfdeepfake.models import Preset

    path = os.path.join(run_dir, PRESET_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{run_dir!r} is not a training run folder: it has no {PRESET_FILE}. Pass the "
            "--out folder of `tfdeepfake train`."
        )
    with open(path) as f:
        values = json.load(f)
    return Preset(**_tuples(values))


def load_config(run_dir: str) -> TrainConfig:
    """The ``TrainConfig`` saved in ``RUN_DIR/config.json``."""
    path = os.path.join(run_dir, CONFIG_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{run_dir!r} is not a training run folder: it has no {CONFIG_FILE}. Pass the "
            "--out folder of `tfdeepfake train`."
        )
    with open(path) as f:
        return TrainConfig.from_dict(json.load(f), source=path)


def weights_path(run_dir: str, which: str = "best") -> str | None:
    """Path of the run's ``best`` (falling back to ``last``) or ``last`` weights, or None."""
    names = [BEST_WEIGHTS, LAST_WEIGHTS] if which == "best" else [LAST_WEIGHTS]
    for name in names:
        path = os.path.join(run_dir, name)
        if os.path.isfile(path):
            return path
    return None


def load_run(run_dir: str, which: str = "best") -> tuple[Any, Any, TrainConfig]:
    """Rebuild a trained model from a run folder: ``(model, preset, config)``.

    Loads ``best.weights.h5`` (the best on validation), else ``last.weights.h5``, else the
    newest checkpoint (a run that is still going or died); ``which="last"`` skips the best.

    Example:
        >>> model, preset, config = load_run("runs/b4")
        >>> logits = model(images)["logit"]
    """
    if which not in ("best", "last"):
        raise ValueError(f"which must be 'best' or 'last'; got {which!r}.")
    from tfdeepfake.models import create_model

    preset = load_preset(run_dir)
    config = load_config(run_dir)
    model = create_model(preset)
    path = weights_path(run_dir, which)
    if path is not None:
        model.load_weights(path)
        model.weights_source = path
        return model, preset, config
    import tensorflow as tf

    latest = tf.train.latest_checkpoint(os.path.join(run_dir, CHECKPOINT_DIR))
    if latest is None:
        raise FileNotFoundError(
            f"Run folder {run_dir!r} has no weights yet ({BEST_WEIGHTS}, {LAST_WEIGHTS} or "
            f"{CHECKPOINT_DIR}/): train longer than checkpoint.every_steps, or check the path."
        )
    tf.train.Checkpoint(model=model).restore(latest).expect_partial()
    model.weights_source = latest
    return model, preset, config
