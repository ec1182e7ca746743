"""TFLite (LiteRT) conversion: float32, float16, dynamic-range and full-integer int8.

The converted graph takes uint8 RGB faces already at the preset's size, (N, S, S, 3) (clips:
(N, T, S, S, 3)), normalises them inside (so a phone feeds camera pixels) and returns
``logit``, ``probability`` and the optional outputs the model has (``attention``,
``frame_logits``, ``member_probabilities``), all float32. int8
models are calibrated on real face crops (``calibration.load_faces``) and keep float32
outputs; ops without an int8 kernel fall back to float only if a strict int8 conversion
fails, and the result says so.

Beside ``<name>.<quantize>.tflite`` a ``.json`` sidecar records the preset contract, which
``runtime.TFLiteDetector`` reads.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tfdeepfake.export.saved_model import require_tensorflow_backend
from tfdeepfake.export.signatures import input_kind, model_input, model_outputs, output_names
from tfdeepfake.models.presets import Preset

QUANTIZATIONS = ("none", "fp16", "dynamic", "int8")


@dataclasses.dataclass
class TFLiteExport:
    """A converted model: the file, its sidecar metadata and how it was converted."""

    path: Path
    metadata_path: Path
    quantize: str
    size_bytes: int
    float_fallback: bool = False


def tflite_input_shape(model: keras.Model, preset: Preset) -> list[int | None]:
    """Shape of the uint8 input of the converted model.

    Faces: (None, S, S, 3), any batch. Clips: (1, T, S, S, 3) with T = the preset's frames:
    TFLite's LSTM lowering needs a static batch (``TFLiteDetector`` feeds one clip at a time).
    """
    s = preset.input_size
    if input_kind(model, preset) == "face":
        return [None, s, s, 3]
    t = model.inputs[0].shape[1] or preset.frames
    return [1, int(t), s, s, 3]


def _write_float_graph(model: keras.Model, preset: Preset, directory: str) -> None:
    """A SavedModel with one signature: uint8 pixels -> normalise -> model -> outputs."""
    archive = keras.export.ExportArchive()
    archive.track(model)

    def serve(pixels):
        return model_outputs(model, model_input(pixels, preset))

    spec = tf.TensorSpec(tflite_input_shape(model, preset), tf.uint8, name="pixels")
    archive.add_endpoint("serving_default", serve, input_signature=[spec])
    archive.write_out(directory, verbose=False)


def _representative(calibration: np.ndarray) -> Iterator[list[np.ndarray]]:
    for item in calibration:
        yield [item[None]]


def _converter(saved_model: str, quantize: str, calibration: np.ndarray | None, strict: bool):
    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model)
    if quantize == "none":
        return converter
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "fp16":
        converter.target_spec.supported_types = [tf.float16]
    elif quantize == "int8":
        converter.representative_dataset = lambda: _representative(calibration)
        ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if not strict:
            ops.append(tf.lite.OpsSet.TFLITE_BUILTINS)
        converter.target_spec.supported_ops = ops
        converter.inference_input_type = tf.uint8
    return converter


class ConversionError(RuntimeError):
    """The TFLite converter refused the model; the message names the op it could not lower."""

    def __init__(self, name: str, quantize: str, cause: Exception):
        super().__init__(
            f"{name}: TFLite conversion ({quantize}) failed: {_first_error(cause)}. The model "
            "uses an op that LiteRT has no kernel for; the SavedModel export still works "
            "(`--format saved_model`)."
        )


def _first_error(err: Exception) -> str:
    """The converter's first 'op ...' complaint, without its MLIR location noise."""
    found = re.search(r"('[\w.]+' op [^\n]+)", str(err))
    return found.group(1)[:200] if found else str(err).strip().splitlines()[-1][:200]


def has_ssim_branch(model: keras.Model) -> bool:
    """Whether ``model`` (or a model inside it) computes SSIM maps."""
    from tfdeepfake.models.ssim import SSIM

    layers = model._flatten_layers(include_self=False, recursive=True)
    return any(isinstance(layer, SSIM) for layer in layers)


def check_request(
    model: keras.Model, preset: Preset, quantize: str, calibration: np.ndarray | None
) -> None:
    """Refuse a quantization that cannot work before any conversion starts."""
    require_tensorflow_backend()
    if quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be one of {QUANTIZATIONS}; got {quantize!r}.")
    if quantize != "int8":
        return
    if input_kind(model, preset) == "clip":
        raise ValueError(
            f"{preset.name}: full-integer int8 is not available for clip models (TF "
            f"{tf.__version__}'s calibrator crashes on the LSTM); use --quantize dynamic "
            "(int8 weights) or fp16."
        )
    if has_ssim_branch(model):
        raise ValueError(
            f"{preset.name}: full-integer int8 is not available for models with an SSIM "
            "branch: SSIM divides by a denominator that int8 rounds to zero, and LiteRT's "
            "int8 division then fails at run time; use --quantize dynamic (int8 weights) or "
            "fp16."
        )
    if calibration is None or len(calibration) == 0:
        raise ValueError(
            "int8 quantization needs calibration faces: pass --calibration DIR (TFRecord "
            "shards from `tfdeepfake extract`, or a folder of face images)."
        )
    expected = tuple(tflite_input_shape(model, preset)[1:])
    if tuple(calibration.shape[1:]) != expected or calibration.dtype != np.uint8:
        raise ValueError(
            f"calibration must be uint8 of shape (M, {', '.join(map(str, expected))}); got "
            f"{calibration.dtype} {calibration.shape}. Use calibration.load_faces(dir, preset)."
        )


def _convert_saved(
    saved_model: str, name: str, quantize: str, calibration: np.ndarray | None
) -> tuple[bytes, bool]:
    """Convert the float graph in ``saved_model``; returns ``(flatbuffer, float_fallback)``."""
    try:
        return _converter(saved_model, quantize, calibration, strict=True).convert(), False
    except Exception as err:  # the converter raises several types for missing kernels
        if quantize != "int8":
            raise ConversionError(name, quantize, err) from err
        print(
            f"WARNING {name}: strict int8 conversion failed ({_first_error(err)}); "
            "converting with float fallback for ops that have no int8 kernel.",
            file=sys.stderr,
        )
        try:
            return _converter(saved_model, quantize, calibration, strict=False).convert(), True
        except Exception as err2:
            raise ConversionError(name, quantize, err2) from err2


def convert(
    model: keras.Model,
    preset: Preset,
    quantizations: Sequence[str] = ("none",),
    calibration: np.ndarray | None = None,
) -> dict[str, tuple[bytes, bool]]:
    """Convert ``model`` once per quantization: ``{quantize: (flatbuffer, float_fallback)}``.

    The float graph is traced and saved once for all of them. ``calibration``: uint8 faces
    (M, S, S, 3) at the preset size, required for ``int8`` (100-300 real face crops).
    """
    for quantize in quantizations:
        check_request(model, preset, quantize, calibration)
    with tempfile.TemporaryDirectory(prefix="tfdeepfake-tflite-") as tmp:
        _write_float_graph(model, preset, tmp)
        return {q: _convert_saved(tmp, preset.name, q, calibration) for q in quantizations}


def tflite_metadata(
    model: keras.Model,
    preset: Preset,
    name: str,
    quantize: str,
    float_fallback: bool,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The sidecar JSON: contract, input/outputs and conversion facts."""
    return {
        "name": name,
        "preset": preset.name,
        "contract": preset.contract(),
        "quantize": quantize,
        "float_fallback": float_fallback,
        "input": {"pixels": f"uint8 {tuple(tflite_input_shape(model, preset))} RGB in [0, 255]"},
        "outputs": output_names(model),
        "tensorflow_version": tf.__version__,
        **(extra or {}),
    }


def export_tflite(
    model: keras.Model,
    out_dir: str | os.PathLike = "exports/tflite",
    quantize: str | Sequence[str] = "none",
    calibration: np.ndarray | None = None,
    name: str | None = None,
    preset: Preset | None = None,
    extra_metadata: dict[str, Any] | None = None,
) -> list[TFLiteExport]:
    """Convert and write ``<out_dir>/<name>.<quantize>.tflite`` plus its ``.json`` sidecar,
    for one quantization or several (the float graph is traced once for all).

    Example:
        >>> [result] = export_tflite(create_model("autoatt_b4_tiny"), "exports", "fp16")
        >>> result.path.name
        'autoatt_b4_tiny.fp16.tflite'
    """
    preset = preset or getattr(model, "preset", None)
    if preset is None:
        raise ValueError("The model has no preset: pass preset=get_preset(name).")
    name = name or preset.name
    quantizations = [quantize] if isinstance(quantize, str) else list(quantize)
    converted = convert(model, preset, quantizations, calibration)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for q, (flatbuffer, fallback) in converted.items():
        path = out / f"{name}.{q}.tflite"
        if path.exists():
            print(f"Replacing {path}", file=sys.stderr)
        path.write_bytes(flatbuffer)
        meta_path = path.with_suffix(".json")
        info = tflite_metadata(model, preset, name, q, fallback, extra_metadata)
        meta_path.write_text(json.dumps(info, indent=2) + "\n")
        results.append(TFLiteExport(path, meta_path, q, len(flatbuffer), fallback))
    return results
