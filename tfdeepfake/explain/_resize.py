"""Resizing low-resolution maps to the face crop (shared by the attention and Grad-CAM maps)."""

from __future__ import annotations

import cv2
import numpy as np


def resize_maps(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinearly resize maps (..., h, w) to (..., height, width); ``size`` is (height, width)."""
    maps = np.asarray(maps, dtype=np.float32)
    lead, (h, w) = maps.shape[:-2], maps.shape[-2:]
    flat = maps.reshape(-1, h, w)
    out = np.stack(
        [cv2.resize(m, (size[1], size[0]), interpolation=cv2.INTER_LINEAR) for m in flat]
    )
    return out.reshape(*lead, size[0], size[1])
