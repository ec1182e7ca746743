"""Attention rollout (Abnar & Zuidema 2020) for ViT detectors (GenD): where the class token,
through all blocks, draws its information from.

Per block the heads' attention is averaged and the residual path added as identity,
``A' = 0.5 A + 0.5 I`` (rows still sum to 1); the rollout is ``A'_L ... A'_1`` and the map is
its class-token row over the patches, reshaped to the patch grid, scaled to [0, 1] by its
maximum and upsampled to the face crop. Everything runs inside one Keras model that shares
the detector's weights, and only (N, L) leaves it per face (ViT-L/14's raw attention is
100 MB per face).
"""

from __future__ import annotations

import weakref
from typing import Any

import keras
import numpy as np
from keras import layers, ops

from tfdeepfake.explain._compile import should_compile
from tfdeepfake.explain._resize import resize_maps
from tfdeepfake.models.base import require_detector

_ROLLOUT_MODELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class ClassTokenRollout(layers.Layer):
    """Blocks' attention (N, heads, L, L), first to last -> the rollout's class row (N, L)."""

    def call(self, maps):
        rollout = None
        for attention in maps:
            a = ops.mean(ops.cast(attention, "float32"), axis=1)
            eye = ops.eye(ops.shape(a)[-1], dtype="float32")[None]
            a = 0.5 * a + 0.5 * eye
            rollout = a if rollout is None else ops.matmul(a, rollout)
        return rollout[:, 0]


def _rollout_model(model: keras.Model) -> keras.Model:
    if model not in _ROLLOUT_MODELS:
        maps = [model.get_layer(name).output[1] for name in model.attention_layers]
        row = ClassTokenRollout(name="class_token_rollout")(maps)
        _ROLLOUT_MODELS[model] = keras.Model(model.inputs, row, name=f"{model.name}_rollout")
    return _ROLLOUT_MODELS[model]


def attention_rollout(model: Any, images: Any, compiled: bool | None = None) -> np.ndarray:
    """(N, H, W) rollout maps in [0, 1] of a ViT detector over preprocessed faces (N, H, W, 3).

    Args:
        model: a model with ``attention_layers`` (``GenDDetector``).
        images: the model's normalised input (``tfdeepfake.data.preset_images``).
        compiled: run through ``predict_on_batch`` (traced) instead of eagerly; None: for
            models of 5 M parameters or more.

    Example:
        >>> maps = attention_rollout(create_model("gend_clip_tiny"), faces)
    """
    if not require_detector(model, "attention_rollout").attention_layers:
        raise ValueError(
            f"Model {model.name!r} is not a ViT with attention_layers; use "
            "tfdeepfake.explain.face_heatmaps(model, images), which picks its method."
        )
    images = np.asarray(images, np.float32)
    rollout = _rollout_model(model)
    if should_compile(model, compiled):
        row = rollout.predict_on_batch(images)
    else:
        row = rollout(images, training=False)
    row = np.asarray(row, np.float32)[:, 1:]
    grid = int(round(np.sqrt(row.shape[1])))
    maps = row.reshape(-1, grid, grid)
    maps = maps / np.maximum(maps.max(axis=(1, 2), keepdims=True), 1e-12)
    return np.clip(resize_maps(maps, images.shape[1:3]), 0.0, 1.0)
