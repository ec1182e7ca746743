"""TFLite (LiteRT) conversion: float32, float16, dynamic-range and full-integer int8.

The converted graph takes uint8 RGB faces already at the preset's size, (N, S, S, 3) (clips:
(N, T, S, S, 3)), normalises them inside (so a phone feeds camera pixels) and returns
``logit``, ``probability`` and the optional outputs the model has (``attention``,
``frame_logits``, ``member_probabilities``), all float32. int8
models are calibrated on real face crops (``calibration.load_faces``) and keep float32
outputs; ops without an int8 kernel fall back to float only if a strict int8 conversion
fails, and the result says so. The model is asked (the detector protocol,
``models.base.DeepfakeModel``), never type-checked, for two things: the layers that stay
float32 (``model.float_layers()``: an SSIM branch, whose division of near-zero int8 values
fails in LiteRT) and, for int8 clips, a copy with every shape static
(``model.static_export_copy(frames)``: the LSTM unrolled, since the calibrator cannot run
TFLite's fused LSTM op).

Beside ``<name>.<quantize>.tflite`` a ``.json`` sidecar records the preset contract, which
``runtime.LiteRTRunner`` reads.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tfdeepfake.export.loading import plain_name
from tfdeepfake.export.saved_model import require_tensorflow_backend
from tfdeepfake.export.signatures import input_kind, model_input, model_outputs, output_names
from tfdeepfake.models.base import DeepfakeModel, require_detector
from tfdeepfake.models.presets import Preset

log = logging.getLogger(__name__)

QUANTIZATIONS = ("none", "fp16", "dynamic", "int8")


@dataclasses.dataclass
class TFLiteExport:
    """A converted model: the file, its sidecar metadata and how it was converted."""

    path: Path
    metadata_path: Path
    quantize: str
    size_bytes: int
    float_fallback: bool = False
    float_layers: tuple[str, ...] = ()


def tflite_input_shape(model: keras.Model, preset: Preset) -> list[int | None]:
    """Shape of the uint8 input of the converted model.

    Faces: (None, S, S, 3), any batch. Clips: (1, T, S, S, 3) with T = the preset's frames:
    TFLite's LSTM lowering needs a static batch (``LiteRTRunner`` feeds one clip at a time).
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


def static_copy(model: DeepfakeModel, preset: Preset) -> keras.Model | None:
    """The model's static-shape copy at the exported clip length (``static_export_copy``)."""
    return model.static_export_copy(tflite_input_shape(model, preset)[1])


def check_quantization(
    model: DeepfakeModel, preset: Preset, quantize: str, static: keras.Model | None = None
) -> None:
    """Refuse a quantization the model cannot have, before any calibration face is read.
    ``static``: the model's static-shape copy when the caller already has it (int8 of clips
    needs one)."""
    require_tensorflow_backend()
    if quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be one of {QUANTIZATIONS}; got {quantize!r}.")
    if quantize != "int8":
        return
    if input_kind(model, preset) == "clip" and (static or static_copy(model, preset)) is None:
        raise ValueError(
            f"{preset.name}: full-integer int8 for {type(model).__name__} is not available; "
            "export its members one by one (`--model resnet_lstm`, `--model autoatt_b4`, ...) "
            "or use --quantize dynamic or fp16 for the whole model."
        )


def check_request(
    model: DeepfakeModel,
    preset: Preset,
    quantize: str,
    calibration: np.ndarray | None,
    static: keras.Model | None = None,
) -> None:
    """Refuse a quantization that cannot work before any conversion starts: the checks of
    ``check_quantization``, then the calibration faces int8 needs."""
    check_quantization(model, preset, quantize, static)
    if quantize != "int8":
        return
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


def _op_output_names(flatbuffer: bytes) -> list[str]:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=flatbuffer)
    tensors = {t["index"]: t["name"] for t in interpreter.get_tensor_details()}
    ops = interpreter._get_ops_details()  # the only listing of ops LiteRT offers
    return [tensors[i] for op in ops for i in op["outputs"] if i in tensors]


def _int8_keeping_float(converter, float_layers: Sequence[str]) -> bytes:
    """Full-integer int8 except the ops of ``float_layers``, which stay float32 (LiteRT's
    selective quantization: calibrate once, then quantize with those ops deny-listed)."""
    names = "|".join(map(re.escape, float_layers))
    pattern = re.compile(rf"(^|/)({names})(_\d+)?/")
    with warnings.catch_warnings():  # the debugger's own tf.lite.Interpreter is deprecated
        warnings.filterwarnings("ignore", message=r"\s*Warning: tf.lite.Interpreter")
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=converter, debug_dataset=converter.representative_dataset
        )
        keep = [n for n in _op_output_names(debugger.calibrated_model) if pattern.search(n)]
        debugger.options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=keep)
        return debugger.get_nondebug_quantized_model()


def _convert_saved(
    saved_model: str,
    name: str,
    quantize: str,
    calibration: np.ndarray | None,
    float_layers: Sequence[str] = (),
) -> tuple[bytes, bool, tuple[str, ...]]:
    """Convert the float graph in ``saved_model``; returns ``(flatbuffer, float_fallback,
    float layers)``.

    ``float_layers`` (int8 only): layers whose ops stay float32 whatever happens."""
    if quantize == "int8" and float_layers:
        converter = _converter(saved_model, quantize, calibration, strict=False)
        try:
            return _int8_keeping_float(converter, float_layers), False, tuple(float_layers)
        except Exception as err:
            raise ConversionError(name, quantize, err) from err
    try:
        return _converter(saved_model, quantize, calibration, strict=True).convert(), False, ()
    except Exception as err:  # the converter raises several types for missing kernels
        if quantize != "int8":
            raise ConversionError(name, quantize, err) from err
        log.warning(
            "WARNING %s: strict int8 conversion failed (%s); converting with float fallback "
            "for ops that have no int8 kernel.", name, _first_error(err)
        )
        try:
            return _converter(saved_model, quantize, calibration, strict=False).convert(), True, ()
        except Exception as err2:
            raise ConversionError(name, quantize, err2) from err2


def convert(
    model: keras.Model,
    preset: Preset,
    quantizations: Sequence[str] = ("none",),
    calibration: np.ndarray | None = None,
) -> dict[str, tuple[bytes, bool, tuple[str, ...]]]:
    """Convert ``model`` once per quantization: ``{quantize: (flatbuffer, float_fallback,
    names of the layers kept float32)}``.

    The float graph is traced and saved once for all of them (int8 of a clip model: once
    more, from the model's ``static_export_copy``). ``calibration``: uint8 faces
    (M, S, S, 3) at the preset size, or clips for clip models, required for ``int8``
    (100-300 real face crops). The model's ``float_layers()`` stay float32 in int8 files.
    """
    model = require_detector(model, "TFLite export")
    static = None
    if "int8" in quantizations and input_kind(model, preset) == "clip":
        static = static_copy(model, preset)
    for quantize in quantizations:
        check_request(model, preset, quantize, calibration, static)
    float_layers = model.float_layers()
    results = {}
    with tempfile.TemporaryDirectory(prefix="tfdeepfake-tflite-") as tmp:
        _write_float_graph(model, preset, tmp)
        for q in quantizations:
            graph = tmp
            if q == "int8" and input_kind(model, preset) == "clip":
                graph = os.path.join(tmp, "static_clips")
                _write_float_graph(static, preset, graph)
            results[q] = _convert_saved(graph, preset.name, q, calibration, float_layers)
    return results


def tflite_metadata(
    model: keras.Model,
    preset: Preset,
    name: str,
    quantize: str,
    float_fallback: bool,
    extra: dict[str, Any] | None = None,
    float_layers: Sequence[str] = (),
) -> dict[str, Any]:
    """The sidecar JSON: contract, input/outputs and conversion facts."""
    return {
        "name": name,
        "preset": preset.name,
        "contract": preset.contract(),
        "quantize": quantize,
        "float_fallback": float_fallback,
        "float_layers": list(float_layers),
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
    preset = preset or require_detector(model, "export_tflite").preset
    if preset is None:
        raise ValueError("The model has no preset: pass preset=get_preset(name).")
    name = plain_name(name or preset.name)
    quantizations = [quantize] if isinstance(quantize, str) else list(quantize)
    converted = convert(model, preset, quantizations, calibration)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for q, (flatbuffer, fallback, kept) in converted.items():
        path = out / f"{name}.{q}.tflite"
        if path.exists():
            log.warning("Replacing %s", path)
        path.write_bytes(flatbuffer)
        meta_path = path.with_suffix(".json")
        info = tflite_metadata(model, preset, name, q, fallback, extra_metadata, kept)
        meta_path.write_text(json.dumps(info, indent=2) + "\n")
        results.append(TFLiteExport(path, meta_path, q, len(flatbuffer), fallback, kept))
    return results
