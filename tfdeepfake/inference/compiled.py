"""Scoring through one compiled function per (model, input shape): the measured fast path.

``bench/gpu_bench.py`` found that ``predict_on_batch`` on host float32 batches makes B7 2.8x
slower on a GPU than a compiled function on device-resident uint8 batches. ``CompiledForward``
is that function for ``detect``: it takes the stored uint8 face crops and does the rest on
the device, inside the compiled graph: cast to float32, the preset's centre re-crop and
bilinear resize (the same sampling as ``tf.image.crop_and_resize`` in
``tfdeepfake.data.crops.recrop``, written as two gathers in ``keras.ops``), normalisation,
and the model. Only the outputs ``detect`` reads (``logit``, ``frame_logits``) come back.

It is compiled with ``jax.jit`` on the JAX backend (the variables are passed in, not baked in
as constants) and ``tf.function`` on TensorFlow; other backends call the model directly.
XLA compiles one program per input shape, so on JAX callers pad each batch (``pad_batch``)
to one of few shapes (``batch_shape``: the batch size, or a power of two below it for a
short last batch): a few compilations per model and crop size, never one per track length.
TensorFlow's graphs take a free batch dimension: there the function is traced once per crop
shape and dtype (an ``input_signature`` with the batch size left open), batches are scored
at their own size (``static_shapes`` is False: no padding, no padded rows computed), and
TensorFlow never warns of retracing.

Presets that warp each face on its own (``crop_mode="aligned"``: GenD's landmark alignment;
``"stretch"``: the face box) keep that warp on the CPU (TensorFlow ops in
``tfdeepfake.data.crops``) and send float32 pixels at the model's size; the cast,
normalisation and model still run compiled on the device.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

OUTPUTS = ("logit", "frame_logits")


def resize_plan(stored: int, fraction: float, size: int) -> tuple[np.ndarray, ...]:
    """``(first, second, weight)`` per output pixel along one side: the centre ``fraction``
    of a ``stored``-pixel side sampled at ``size`` pixel centres, bilinearly.

    The sample positions are those of ``tfdeepfake.data.crops.crop_box`` as
    ``crop_and_resize`` reads them: ``stored * (1 - fraction) / 2 + (i + 0.5) * step - 0.5``
    with ``step = fraction * stored / size``. Output ``i`` is
    ``(1 - weight[i]) * pixel[first[i]] + weight[i] * pixel[second[i]]``.
    """
    if not 0.0 < fraction <= 1.0 + 1e-6:
        raise ValueError(f"The crop fraction must be in (0, 1], got {fraction}.")
    step = fraction * stored / size
    positions = stored * (1.0 - fraction) / 2.0 + (np.arange(size) + 0.5) * step - 0.5
    positions = np.clip(positions, 0.0, stored - 1.0)
    first = np.floor(positions).astype(np.int32)
    second = np.minimum(first + 1, stored - 1).astype(np.int32)
    weight = (positions - first).astype(np.float32)
    return first, second, weight


def _resample(images, plan, axis: int):
    """Bilinear resampling of ``images`` along ``axis`` by a ``resize_plan``."""
    from keras import ops

    first, second, weight = plan
    shape = [1] * len(images.shape)
    shape[axis] = len(weight)
    weight = ops.reshape(ops.convert_to_tensor(weight), shape)
    low = ops.take(images, ops.convert_to_tensor(first), axis=axis)
    high = ops.take(images, ops.convert_to_tensor(second), axis=axis)
    return low + (high - low) * weight


def device_inputs(pixels, preset, fraction: float | None):
    """Pixels (..., S, S, 3), uint8 or float32 in [0, 255] -> the model's normalised float32
    input, in ``keras.ops`` (traced into the compiled function). ``fraction``: the centre
    part of each stored crop to keep and resize to ``preset.input_size``; None when the
    pixels are already at the model's size. The ensemble gets its pixels unnormalised (each
    member normalises for itself)."""
    from keras import ops

    from tfdeepfake.models.preprocessing import normalise_pixels
    from tfdeepfake.models.presets import takes_raw_pixels

    images = ops.cast(pixels, "float32")
    if fraction is not None:
        plan = resize_plan(int(images.shape[-2]), fraction, preset.input_size)
        images = _resample(_resample(images, plan, -3), plan, -2)
    if takes_raw_pixels(preset):
        return images
    return normalise_pixels(images, preset.mean, preset.std)


def batch_shape(rows: int, batch_size: int) -> int:
    """Rows a batch of ``rows`` faces is padded to: ``batch_size`` for a full batch, else the
    next power of two (capped at ``batch_size``). A model is then compiled for at most
    ``log2(batch_size) + 2`` batch shapes, and a lone image is not scored as a full batch of
    copies (which would cost ``batch_size`` times its compute on a CPU)."""
    if rows < 1 or batch_size < 1:
        raise ValueError(f"rows and batch_size must be >= 1, got {rows} and {batch_size}.")
    return min(batch_size, 1 << (rows - 1).bit_length())


def pad_batch(batch: np.ndarray, size: int) -> np.ndarray:
    """``batch`` with copies of its last row appended up to ``size`` rows (their outputs are
    dropped; inference-mode models score each row on its own)."""
    missing = size - len(batch)
    if missing <= 0:
        return batch
    return np.concatenate([batch, np.repeat(batch[-1:], missing, axis=0)])


class CompiledForward:
    """A Keras model's inference from stored crops, compiled once per input shape.

    Args:
        model: the Keras model.
        preset: its ``Preset`` (size, normalisation).
        forward: ``forward(model, inputs) -> dict`` (default: ``model(inputs,
            training=False)``; imported ResNeXt-LSTM weights pass their own).

    ``traces`` counts the traces (on JAX a new batch shape costs one; on either backend a
    new crop shape or dtype). ``static_shapes``: whether each batch shape is compiled on its
    own (JAX), so that callers should pad batches to few shapes.
    """

    def __init__(self, model: Any, preset: Any, forward: Callable | None = None):
        import keras

        self.model, self.preset = model, preset
        self.forward = forward or (lambda m, x: m(x, training=False))
        self.backend = keras.backend.backend()
        self.static_shapes = self.backend == "jax"
        self.traces = 0
        self._compiled: dict[tuple, Callable] = {}
        self._lock = threading.Lock()

    def __call__(self, pixels: np.ndarray, fraction: float | None) -> dict[str, np.ndarray]:
        """Outputs (``OUTPUTS`` the model has) for ``pixels`` (..., S, S, 3) uint8 (or
        float32 at the model's size, ``fraction=None``), as numpy."""
        pixels = np.asarray(pixels)
        key = (fraction, pixels.dtype.str, pixels.shape[1:])
        with self._lock:
            fn = self._compiled.get(key)
            if fn is None:
                fn = self._compiled[key] = self._compile(fraction, pixels)
        return {k: np.asarray(v) for k, v in fn(pixels).items()}

    def _outputs(self, pixels, fraction):
        self.traces += 1  # runs once per trace, never per call of the compiled function
        out = self.forward(self.model, device_inputs(pixels, self.preset, fraction))
        return {k: out[k] for k in OUTPUTS if k in out}

    def _compile(self, fraction: float | None, pixels: np.ndarray) -> Callable:
        if self.backend == "jax":
            return self._compile_jax(fraction)
        if self.backend == "tensorflow":
            import tensorflow as tf

            # A partial, not a lambda: TensorFlow counts traces per function code, so the
            # first traces of many models' lambdas would add up to a retracing warning.
            spec = tf.TensorSpec((None, *pixels.shape[1:]), pixels.dtype)
            return tf.function(functools.partial(self._outputs, fraction=fraction),
                               input_signature=[spec])
        return lambda pixels: self._outputs(pixels, fraction)

    def _compile_jax(self, fraction: float | None) -> Callable:
        import jax
        import keras

        variables = list(self.model.variables)

        def run(values, pixels):
            with keras.StatelessScope(state_mapping=list(zip(variables, values))):
                return self._outputs(pixels, fraction)

        compiled = jax.jit(run)
        return lambda pixels: compiled([v.value for v in variables], pixels)
