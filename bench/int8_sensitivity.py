"""Where full-integer int8 loses a face model's logit: a fake-quant simulation in Keras.

Rebuilds an EfficientNet face model (``autoatt_b4*``, ``efficientnet_b4*``,
``efficientnet_b7*``, ``b7_ssim*``) with int8 rounding where LiteRT's int8 conversion puts
it: BatchNorm-folded conv and dense kernels per output channel (symmetric, narrow range),
and per-tensor activations after the normalised input, every conv (+BN), both halves of
swish (the sigmoid on LiteRT's fixed 1/256 scale), pooling, multiplies, adds and the logit.
Activation ranges are the min/max over the calibration faces, as the converter's
calibrator takes them. One group of rounding points at a time is switched on and the
logit's error against the float model is printed (largest difference as a fraction of the
float logit range on the evaluated faces, RMS, mean); then all of them; then the real
LiteRT int8 file, converted by ``export_tflite``, with a line fitted through its logits
(slope 1 and intercept 0 with a large RMS: the error is noise, not a shift to correct).

Usage:
    python bench/int8_sensitivity.py --weights quickstart/runs/autoatt_b4_tiny \\
        --calibration quickstart/shards/train --faces quickstart/shards/test
    python bench/int8_sensitivity.py --model autoatt_b4 --calibration DIR   # random weights
Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

SIGMOID_RANGE = (0.0, 255.0 / 256.0)  # LiteRT's int8 LOGISTIC output: scale 1/256, zero -128
GROUPS = (
    "weights",
    "input",
    "conv outputs",
    "sigmoids",
    "swish outputs",
    "squeeze-excite",
    "multiplies",
    "residual adds",
    "pooling and logit",
)
KERNEL_AXIS = {layers.Conv2D: 3, layers.DepthwiseConv2D: 2, layers.Dense: 1}


class FakeQuant(layers.Layer):
    """Per-tensor int8 rounding of its input on a range observed from data (or fixed)."""

    def __init__(self, group: str, fixed: tuple[float, float] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.group, self.fixed = group, fixed
        self.observing, self.active = False, False
        self.low, self.high = fixed or (0.0, 0.0)

    def call(self, x):
        if self.observing and self.fixed is None:
            value = ops.convert_to_numpy(x)
            self.low = min(self.low, float(value.min()))
            self.high = max(self.high, float(value.max()))
        if not self.active:
            return x
        return keras.quantizers.fake_quant_with_min_max_vars(x, self.low, self.high, num_bits=8)


def group_of(layer_name: str) -> str:
    """The group of a rounding point after the layer named ``layer_name``."""
    if "_se_" in layer_name and "_se_excite" not in layer_name:
        return "squeeze-excite"
    if layer_name.endswith(("_multiply", "_excite")):
        return "multiplies"
    if layer_name.endswith("_add"):
        return "residual adds"
    return "pooling and logit" if layer_name in ("avg_pool", "logit") else "conv outputs"


def fake_quant_copy(model: keras.Model) -> tuple[keras.Model, list[FakeQuant], dict]:
    """A copy of ``model`` with a ``FakeQuant`` at every int8 rounding point (all inactive),
    the list of them, and ``{kernel layer name: following BatchNormalization}`` of the copy.
    """
    graph = keras.Model(model.input, model.output)
    followed_by_bn = {
        layer.name
        for layer in graph.layers
        for node in layer._outbound_nodes
        if isinstance(node.operation, layers.BatchNormalization)
    }
    activation_of, points, folds = {}, [], {}

    def point(x, group, name, fixed=None):
        fq = FakeQuant(group, fixed, name=name)
        points.append(fq)
        return fq(x)

    def activation(x, name, kind, group):
        if kind == "linear":
            return x
        s = point(layers.Activation("sigmoid")(x), group, f"{name}_fq_sigmoid", SIGMOID_RANGE)
        if kind == "sigmoid":
            return s
        if kind not in ("swish", "silu"):
            raise ValueError(f"{name}: activation {kind!r} is not simulated (EfficientNets only).")
        out_group = "swish outputs" if group == "sigmoids" else group
        return point(layers.Multiply()([x, s]), out_group, f"{name}_fq_out")

    def clone(layer):
        config = layer.get_config()
        if type(layer) in KERNEL_AXIS or type(layer) is layers.Activation:
            activation_of[layer.name] = config.get("activation", "linear")
            if type(layer) is layers.Activation:
                return layers.Identity(name=layer.name)
            config["activation"] = "linear"
        return layer.__class__.from_config(config)

    first = graph.layers[1].name
    last_kernel = {}

    def call(layer, *args, **kwargs):
        if layer.name == first:
            args = (point(args[0], "input", "input_fq"), *args[1:])
        if type(layer) is layers.Identity and layer.name in activation_of:
            return activation(args[0], layer.name, activation_of[layer.name], "sigmoids")
        y = layer(*args, **kwargs)
        name = layer.name
        if type(layer) in KERNEL_AXIS:
            last_kernel[id(y)] = name
            if name in followed_by_bn:
                return y
            y = point(y, group_of(name), f"{name}_fq")
            group = "squeeze-excite" if "_se_" in name else "sigmoids"
            return activation(y, name, activation_of[name], group)
        if isinstance(layer, layers.BatchNormalization):
            if id(args[0]) in last_kernel:
                folds[last_kernel[id(args[0])]] = layer
            return point(y, group_of(name), f"{name}_fq")
        if isinstance(layer, layers.Multiply | layers.Add | layers.GlobalAveragePooling2D):
            return point(y, group_of(name), f"{name}_fq")
        return y

    copy = keras.models.clone_model(graph, clone_function=clone, call_function=call)
    originals = {layer.name: layer for layer in graph.layers}
    for layer in copy.layers:
        if layer.name in originals and originals[layer.name].weights:
            layer.set_weights(originals[layer.name].get_weights())
    return copy, points, folds


def quantized_kernels(copy: keras.Model, folds: dict) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{layer name: (float kernel, kernel after int8 per-channel rounding)}``: the rounding
    is applied to the BatchNorm-folded kernel (what LiteRT stores), then unfolded."""
    kernels = {}
    for layer in copy.layers:
        axis = KERNEL_AXIS.get(type(layer))
        if axis is None:
            continue
        kernel = ops.convert_to_numpy(layer.kernel)
        scale = np.ones(kernel.shape[axis], np.float32)
        if layer.name in folds:
            bn = folds[layer.name]
            gamma = ops.convert_to_numpy(bn.gamma) if bn.scale else 1.0
            scale = gamma / np.sqrt(ops.convert_to_numpy(bn.moving_variance) + bn.epsilon)
        shape = [1] * kernel.ndim
        shape[axis] = -1
        folded = kernel * scale.reshape(shape)
        other = tuple(i for i in range(kernel.ndim) if i != axis)
        step = np.maximum(np.abs(folded).max(axis=other, keepdims=True), 1e-12) / 127.0
        rounded = np.clip(np.round(folded / step), -127, 127) * step
        kernels[layer.name] = (kernel, (rounded / scale.reshape(shape)).astype(kernel.dtype))
    return kernels


def logits(model: keras.Model, faces: np.ndarray, preset) -> np.ndarray:
    from tfdeepfake.export.parity import keras_outputs

    return keras_outputs(model, preset, faces)["logit"]


def error_row(name: str, got: np.ndarray, ref: np.ndarray) -> dict:
    err = got - ref
    return {
        "simulated": name,
        "rel_max": float(np.abs(err).max() / max(ref.max() - ref.min(), 1e-12)),
        "rms": float(np.sqrt(np.mean(err**2))),
        "mean": float(err.mean()),
    }


def sensitivity(model, preset, calibration: np.ndarray, faces: np.ndarray, litert: bool):
    """Rows of the table: one per group, all together, then the LiteRT int8 file."""
    copy, points, folds = fake_quant_copy(model)
    reference = logits(copy, faces, preset)
    for fq in points:
        fq.observing = True
    logits(copy, calibration, preset)
    for fq in points:
        fq.observing = False
    kernels = quantized_kernels(copy, folds)
    by_name = {layer.name: layer for layer in copy.layers}

    def switch(groups):
        for fq in points:
            fq.active = fq.group in groups
        for name, (kernel, rounded) in kernels.items():
            by_name[name].kernel.assign(rounded if "weights" in groups else kernel)

    rows = []
    for group in GROUPS:
        switch({group})
        rows.append(error_row(group, logits(copy, faces, preset), reference))
    switch(set(GROUPS))
    rows.append(error_row("all (simulated int8)", logits(copy, faces, preset), reference))
    switch(set())
    if litert:
        rows.append(litert_row(model, preset, calibration, faces, reference))
    return rows, float(reference.max() - reference.min())


def litert_row(model, preset, calibration, faces, reference) -> dict:
    """The real int8 file: its error, and a line fitted through its logits."""
    from tfdeepfake.export.runtime import LiteRTRunner
    from tfdeepfake.export.tflite import export_tflite

    with tempfile.TemporaryDirectory(prefix="int8-sensitivity-") as tmp:
        [result] = export_tflite(model, tmp, "int8", calibration, preset=preset)
        got = LiteRTRunner(result.path).predict(faces)["logit"]
    row = error_row("LiteRT int8 file", got, reference)
    slope, intercept = np.polyfit(reference, got, 1)
    row.update(slope=float(slope), intercept=float(intercept))
    return row


def print_table(name: str, rows: list[dict], value_range: float, n: int) -> None:
    print(f"\n{name}: {n} faces evaluated, float logit range {value_range:.3g}")
    print(f"{'int8 rounding at':24s} {'max diff':>9s} {'rms':>8s} {'mean':>8s}")
    for row in rows:
        line = f"{row['simulated']:24s} {100 * row['rel_max']:8.2f}% "
        line += f"{row['rms']:8.4f} {row['mean']:8.4f}"
        if "slope" in row:
            line += f"   fit: int8 = {row['slope']:.3f} x float {row['intercept']:+.3f}"
        print(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", help="a training run folder or .weights.h5")
    parser.add_argument("--model", help="preset name (random weights unless --weights)")
    parser.add_argument("--calibration", required=True, help="face shards or image folder")
    parser.add_argument("--faces", help="faces to evaluate on (default: the calibration faces)")
    parser.add_argument("--limit", type=int, default=256, help="faces read from each folder")
    parser.add_argument("--no-litert", action="store_true", help="skip the real int8 file")
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args(argv)

    from tfdeepfake.export.calibration import load_faces
    from tfdeepfake.export.loading import load_for_export
    from tfdeepfake.export.parity import recalibrate_batchnorm
    from tfdeepfake.export.signatures import input_kind

    model, preset, _ = load_for_export(args.model, args.weights)
    if input_kind(model, preset) != "face":
        raise SystemExit(f"{preset.name}: only face models are simulated (EfficientNets).")
    calibration = load_faces(args.calibration, preset, args.limit).images
    faces = load_faces(args.faces, preset, args.limit).images if args.faces else calibration
    if not args.weights:
        recalibrate_batchnorm(model, preset, calibration)  # random init: real activations
    rows, value_range = sensitivity(model, preset, calibration, faces, not args.no_litert)
    print_table(preset.name, rows, value_range, len(faces))
    if args.json:
        Path(args.json).write_text(json.dumps({"model": preset.name, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
