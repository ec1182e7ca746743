"""One entry point for detect's report: the right heatmap for each kind of model."""

from __future__ import annotations

from typing import Any

import numpy as np

from tfdeepfake.explain.attention import attention_heatmap
from tfdeepfake.explain.grad_cam import gradcam
from tfdeepfake.explain.rollout import attention_rollout
from tfdeepfake.models.base import require_detector

METHODS = ("auto", "attention", "rollout", "gradcam")


def has_attention(model: Any) -> bool:
    """True when the model's output dict has an ``"attention"`` map."""
    output = getattr(model, "output", None)
    return isinstance(output, dict) and "attention" in output


def face_heatmaps(
    model: Any, images: Any, method: str = "auto", compiled: bool | None = None
) -> np.ndarray:
    """Heatmaps over the face crops: the model's own attention when it has one (AutoAttB4,
    B7-SSIM), attention rollout for ViTs (GenD), else Grad-CAM on ``model.feature_map_layer``
    (ResNet-LSTM, plain B4/B7).

    Returns (N, H, W) in [0, 1], or (N, T, H, W) for a sequence model's clips.
    ``compiled`` is passed on (see ``gradcam`` and ``attention_heatmap``).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}.")
    if method == "attention" or (method == "auto" and has_attention(model)):
        return attention_heatmap(model, images, compiled=compiled)
    rollout = method == "auto" and require_detector(model, "face_heatmaps").attention_layers
    if method == "rollout" or rollout:
        return attention_rollout(model, images, compiled=compiled)
    return gradcam(model, images, compiled=compiled)
