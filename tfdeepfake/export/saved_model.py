"""SavedModels for TF Serving: ``<out>/<name>/<version>/`` with uint8 and encoded-bytes signatures.

Each export gets the next free version number (never overwriting one); it is written to a
hidden temporary folder and renamed into place, so TF Serving (which polls the model folder)
never sees a half-written version. ``assets.extra/tfdeepfake.json`` records the preset
contract, the signatures and the versions of the libraries that wrote it.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from tfdeepfake.export.caps import ServingCaps
from tfdeepfake.export.loading import plain_name
from tfdeepfake.export.signatures import build_functions, signature_description
from tfdeepfake.models.base import require_detector
from tfdeepfake.models.presets import Preset
from tfdeepfake.version import __version__

METADATA_FILE = "tfdeepfake.json"


def existing_versions(model_dir: str | os.PathLike) -> list[int]:
    """The version numbers (numeric sub-folders) already in a TF Serving model folder."""
    path = Path(model_dir)
    if not path.is_dir():
        return []
    return sorted(int(p.name) for p in path.iterdir() if p.is_dir() and p.name.isdigit())


def next_version(model_dir: str | os.PathLike) -> int:
    """One more than the highest existing version (1 for a new model folder)."""
    versions = existing_versions(model_dir)
    return versions[-1] + 1 if versions else 1


def require_tensorflow_backend() -> None:
    """Export builds TensorFlow graphs: fail clearly on another Keras backend."""
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            f"Export needs the TensorFlow Keras backend; KERAS_BACKEND is "
            f"{keras.backend.backend()!r}. Run with KERAS_BACKEND=tensorflow (weights trained "
            "on another backend load fine from a .weights.h5 or .keras file)."
        )


def build_archive(
    model: keras.Model, preset: Preset, caps: ServingCaps | None = None
) -> keras.export.ExportArchive:
    """A Keras ``ExportArchive`` holding the model's variables and the serving endpoints."""
    require_tensorflow_backend()
    archive = keras.export.ExportArchive()
    archive.track(model)
    for name, (fn, signature) in build_functions(model, preset, caps).items():
        archive.add_endpoint(name, fn, input_signature=signature)
    return archive


def metadata(
    model: keras.Model,
    preset: Preset,
    name: str,
    version: int,
    extra: dict[str, Any] | None,
    caps: ServingCaps | None = None,
) -> dict[str, Any]:
    """The JSON written to ``assets.extra/tfdeepfake.json``."""
    caps = caps or ServingCaps()
    return {
        "name": name,
        "version": version,
        "preset": preset.name,
        "family": preset.family,
        "contract": preset.contract(),
        "signatures": signature_description(model, preset, caps),
        "serving_caps": caps.to_dict(),
        "label_convention": "1=fake; logit is the raw score, probability = sigmoid(logit)",
        "exported_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "tfdeepfake_version": __version__,
        "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__,
        **(extra or {}),
    }


def export_saved_model(
    model: keras.Model,
    out_dir: str | os.PathLike = "saved_models",
    name: str | None = None,
    preset: Preset | None = None,
    extra_metadata: dict[str, Any] | None = None,
    caps: ServingCaps | None = None,
) -> Path:
    """Write ``model`` as a new version of ``<out_dir>/<name>/`` and return the version folder.

    Args:
        model: a tfdeepfake detector (a model from ``create_model``; its ``preset`` is used
            unless ``preset`` is given).
        out_dir: the TF Serving model base folder (``saved_models`` by default).
        name: the served model's name (default: the preset name).
        preset: the preprocessing contract baked into the graph.
        extra_metadata: more keys for ``assets.extra/tfdeepfake.json`` (e.g. the weights).
        caps: what one request may hold, checked in the graph (a ``ServingCaps`` or a dict
            of its fields; default ``ServingCaps()``:
            256 images, 4096 px per side, 16 MiB per encoded image); recorded in the
            metadata as ``serving_caps``.

    Example:
        >>> path = export_saved_model(create_model("autoatt_b4_tiny"), "saved_models")
        >>> path.name
        '1'
    """
    if isinstance(caps, dict):
        caps = ServingCaps(**caps)
    if caps is not None and not isinstance(caps, ServingCaps):
        raise TypeError(f"caps must be a ServingCaps or a dict of its fields, got "
                        f"{type(caps).__name__}.")
    preset = preset or require_detector(model, "export_saved_model").preset
    if preset is None:
        raise ValueError(
            "The model has no preset: build it with tfdeepfake.create_model(name) or pass "
            "preset=get_preset(name)."
        )
    name = plain_name(name or preset.name)
    model_dir = Path(out_dir) / name
    model_dir.mkdir(parents=True, exist_ok=True)
    archive = build_archive(model, preset, caps)
    tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=model_dir))
    try:
        archive.write_out(str(tmp / "model"), verbose=False)
        while True:
            version = next_version(model_dir)
            info = metadata(model, preset, name, version, extra_metadata, caps)
            extra_dir = tmp / "model" / "assets.extra"
            extra_dir.mkdir(exist_ok=True)
            (extra_dir / METADATA_FILE).write_text(json.dumps(info, indent=2) + "\n")
            target = model_dir / str(version)
            try:
                os.rename(tmp / "model", target)  # atomic; fails if the version is taken
            except OSError:
                if target.exists():
                    continue  # a concurrent export took this number: take the next one
                raise
            return target
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def read_metadata(version_dir: str | os.PathLike) -> dict[str, Any]:
    """The ``tfdeepfake.json`` of an exported version folder."""
    path = Path(version_dir) / "assets.extra" / METADATA_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist: {version_dir} is not a tfdeepfake SavedModel export "
            "(expected <out>/<name>/<version>/ written by `tfdeepfake export`)."
        )
    return json.loads(path.read_text())
