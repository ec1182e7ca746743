"""The model to export (random, ``.weights.h5``, ``.keras`` or run-folder weights) and the
plain ``.keras`` export."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import keras

from tfdeepfake.models import create_model, get_preset
from tfdeepfake.models.base import require_detector
from tfdeepfake.models.presets import Preset

log = logging.getLogger(__name__)


def load_for_export(
    name: str | None, weights: str | os.PathLike | None = None
) -> tuple[keras.Model, Preset, str]:
    """``(model, preset, weights_source)`` for ``tfdeepfake export``.

    Args:
        name: a preset name (may be None when ``weights`` is a training run folder, whose
            saved preset is used).
        weights: None (random init, with a warning), a ``tfdeepfake train`` run folder,
            a ``.weights.h5`` file or a ``.keras`` file.
    """
    if weights is None:
        if name is None:
            raise ValueError("Pass --model NAME (see `tfdeepfake models`) or --weights RUN_DIR.")
        log.warning(
            "WARNING exporting %r with random weights (no --weights given): fine for trying "
            "the export, useless for detection.", name
        )
        model = create_model(name)
        return model, model.preset, "random-init"
    path = Path(weights)
    if path.is_dir():
        from tfdeepfake import runs

        run = runs.load_run(path)
        model, preset = run.model, run.preset
        if name is not None and name != preset.name:
            raise ValueError(
                f"--model {name!r} does not match the run folder {str(path)!r}, which trained "
                f"{preset.name!r}; drop --model or pass the matching run."
            )
        model.preset = preset
        return model, preset, run.weights_source
    if not path.is_file():
        raise FileNotFoundError(
            f"--weights {str(weights)!r} does not exist: pass a run folder of `tfdeepfake "
            "train`, a .weights.h5 or a .keras file."
        )
    if name is None:
        raise ValueError(f"--weights {str(weights)!r} is a file: also pass --model NAME.")
    preset = get_preset(name)
    if path.name.endswith(".weights.h5"):
        model = create_model(preset)
        model.load_weights(str(path))
    elif path.suffix == ".keras":
        import tfdeepfake.models  # noqa: F401  (registers the model classes for deserialising)

        model = keras.saving.load_model(str(path), compile=False)
        model.preset = preset
    else:
        raise ValueError(
            f"--weights {str(weights)!r}: expected a run folder, a .weights.h5 or a .keras file."
        )
    return model, preset, str(path)


def plain_name(name: str) -> str:
    """``name`` when it is one plain file or folder name (exports are written under their
    out folder); a ``ValueError`` with the fix when it is a path, ``.`` or ``..``."""
    if name in ("", ".", "..") or any(c in name for c in "/\\\0"):
        raise ValueError(
            f"--name {name!r} is not a plain name: give one name, without '/' or '\\' and "
            "not '.' or '..' (the export is written under --out; pick its folder with --out)."
        )
    return name


def export_keras(
    model: keras.Model, out_dir: str | os.PathLike = "exports/keras", name: str | None = None
) -> Path:
    """Save ``model`` as ``<out_dir>/<name>.keras`` (loads on any Keras 3 backend)."""
    preset = require_detector(model, "export_keras").preset
    name = plain_name(name or (preset.name if preset is not None else model.name))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.keras"
    if path.exists():
        log.warning("Replacing %s", path)
    model.save(str(path))
    return path
