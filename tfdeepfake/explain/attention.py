"""The attention map a model computes itself (AutoAttB4, B7-SSIM), upsampled to the face crop."""

from __future__ import annotations

from typing import Any

import numpy as np

from tfdeepfake.explain._compile import should_compile
from tfdeepfake.explain._resize import resize_maps


def _image_size(images: Any) -> tuple[int, int]:
    x = images["images"] if isinstance(images, dict) else images
    shape = np.shape(x)
    if len(shape) < 4:
        raise ValueError(
            f"images must be a batch (N, H, W, 3) of preprocessed face crops, got shape {shape}; "
            "for one face use images[None]."
        )
    return int(shape[-3]), int(shape[-2])


def attention_heatmap(model: Any, images: Any, compiled: bool | None = None) -> np.ndarray:
    """The model's ``"attention"`` output for ``images``, upsampled to the crop size.

    Args:
        model: a detector whose output dict has ``"attention"`` (N, h, w, 1) in [0, 1]
            (``autoatt_b4*``, ``b7_ssim*``).
        images: the model's input: preprocessed face crops (N, H, W, 3) float (see
            ``tfdeepfake.models.preprocessor_for``), or the dict of inputs the model takes.
        compiled: run the model with Keras' compiled ``predict_on_batch`` (traced once and
            shared with scoring) instead of an eager call; None: compiled for models of
            5 M parameters or more.

    Returns:
        (N, H, W) float32 maps in [0, 1], not re-normalised (1 = fully attended).

    Example:
        >>> maps = attention_heatmap(create_model("autoatt_b4_tiny"), crops)
    """
    if should_compile(model, compiled) and hasattr(model, "predict_on_batch"):
        outputs = model.predict_on_batch(images)
    else:
        outputs = model(images, training=False)
    if not isinstance(outputs, dict) or "attention" not in outputs:
        keys = sorted(outputs) if isinstance(outputs, dict) else type(outputs).__name__
        raise ValueError(
            f"Model {getattr(model, 'name', model)!r} has no 'attention' output (outputs: {keys}); "
            "use tfdeepfake.explain.gradcam(model, images) for models without attention."
        )
    att = np.asarray(outputs["attention"], dtype=np.float32)
    if att.ndim == 4 and att.shape[-1] == 1:
        att = att[..., 0]
    if att.ndim != 3:
        raise ValueError(f"Expected an attention map (N, h, w, 1), got shape {att.shape}.")
    return np.clip(resize_maps(att, _image_size(images)), 0.0, 1.0)
