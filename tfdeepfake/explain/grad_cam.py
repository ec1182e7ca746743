"""Grad-CAM (Selvaraju et al. 2017) for any detector: where the fake logit's evidence lies.

Uses ``tf.GradientTape``, so it needs the TensorFlow backend (the project's default); the
models themselves stay backend-agnostic. For sequence models, which fold time into the
batch before the CNN, the feature map is (N*T, h, w, C) and the maps come back per frame.
"""

from __future__ import annotations

import weakref
from typing import Any

import keras
import numpy as np

from tfdeepfake.explain._compile import should_compile
from tfdeepfake.explain._resize import resize_maps
from tfdeepfake.models.base import require_detector

# (model) -> {(layer name, compiled) -> Grad-CAM function}, so repeated calls reuse it.
_CAM_FUNCTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _cam_function(model: keras.Model, layer_name: str, compiled: bool):
    """(x, sign) -> ReLU(sum_c mean_hw(d(sign * logit)/dA) * A) for the layer's map A.

    ``compiled`` wraps it in a ``tf.function`` traced once per input shape
    (``reduce_retracing`` relaxes shapes after the second): slow to trace, faster per call.
    """
    import tensorflow as tf

    cache = _CAM_FUNCTIONS.setdefault(model, {})
    key = (layer_name, compiled)
    if key not in cache:
        grad_model = _build_grad_model(model, layer_name)

        def cam(x, sign):
            with tf.GradientTape() as tape:
                features, logit = grad_model(x, training=False)
                score = tf.reduce_sum(tf.cast(logit, tf.float32)) * sign
            grads = tape.gradient(score, features)
            features = tf.cast(features, tf.float32)
            weights = tf.reduce_mean(tf.cast(grads, tf.float32), axis=(1, 2), keepdims=True)
            return tf.nn.relu(tf.reduce_sum(weights * features, axis=-1))

        cache[key] = tf.function(cam, reduce_retracing=True) if compiled else cam
    return cache[key]


def _build_grad_model(model: keras.Model, layer_name: str) -> keras.Model:
    try:
        layer = model.get_layer(layer_name)
    except ValueError:
        raise ValueError(
            f"Model {model.name!r} has no layer {layer_name!r}; pass layer_name= one of its "
            "conv layers (model.summary() lists them) or set model.feature_map_layer."
        ) from None
    outputs = model.output
    logit = outputs["logit"] if isinstance(outputs, dict) else outputs
    return keras.Model(model.inputs, [layer.output, logit], name=f"{model.name}_gradcam")


def gradcam(
    model: keras.Model,
    images: Any,
    layer_name: str | None = None,
    target: str = "fake",
    compiled: bool | None = None,
) -> np.ndarray:
    """Grad-CAM maps of ``model``'s logit with respect to a conv feature map.

    Args:
        model: a functional detector whose output is a dict with ``"logit"`` (N, 1).
        images: the model's input: preprocessed crops (N, H, W, 3), clips (N, T, H, W, 3)
            for sequence models, or the dict of inputs the model takes.
        layer_name: the conv layer to explain; default ``model.feature_map_layer`` (each
            detector names its last conv feature map there).
        target: ``"fake"`` explains the logit, ``"real"`` its negation.
        compiled: run the gradient in a traced ``tf.function``: one trace (about 26 s for
            full-size B4 on 2 busy cores), then about 15x faster per face than eager
            (bench/bench_explain.py). None: traced for models of 5 M parameters or more,
            eager for smaller ones (where the trace costs more than it saves).

    Returns:
        float32 maps in [0, 1], each divided by its own maximum (all zeros when no
        positive evidence): (N, H, W), or (N, T, H, W) for clips.
    """
    import tensorflow as tf

    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            "gradcam() uses tf.GradientTape and needs KERAS_BACKEND=tensorflow "
            f"(current backend: {keras.backend.backend()})."
        )
    if target not in ("fake", "real"):
        raise ValueError(f"target must be 'fake' or 'real', got {target!r}.")
    if not layer_name:
        layer_name = require_detector(model, "gradcam without layer_name").feature_map_layer
    if not layer_name:
        raise ValueError(
            f"Model {model.name!r} names no feature_map_layer; pass layer_name= explicitly."
        )
    if hasattr(model, "image_specs") and not isinstance(images, dict):
        from tfdeepfake.models.base import validate_image_inputs

        flat = images
        if np.ndim(images) == 5:  # validate the frames of clips one by one
            flat = np.reshape(images, (-1, *np.shape(images)[2:]))
        validate_image_inputs(tf.convert_to_tensor(flat), model.image_specs, model.name)
    x = tf.nest.map_structure(lambda t: tf.convert_to_tensor(t, tf.float32), images)
    sign = tf.constant(1.0 if target == "fake" else -1.0)
    cam = _cam_function(model, layer_name, should_compile(model, compiled))(x, sign).numpy()
    first = x["images"] if isinstance(x, dict) else x
    shape = tuple(first.shape)
    maps = np.maximum(resize_maps(cam, (shape[-3], shape[-2])), 0.0)
    peak = maps.reshape(len(maps), -1).max(axis=1).reshape(-1, 1, 1)
    maps = np.where(peak > 0, maps / np.maximum(peak, 1e-12), 0.0).astype(np.float32)
    if len(shape) == 5:
        return maps.reshape(shape[0], shape[1], shape[-3], shape[-2])
    return maps
