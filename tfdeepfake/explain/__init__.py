"""Where the detectors look: attention maps, Grad-CAM, and heatmap overlays on video.

Names are imported lazily, so the overlay functions (numpy + OpenCV) do not load Keras.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "attention_heatmap": "tfdeepfake.explain.attention",
    "gradcam": "tfdeepfake.explain.grad_cam",
    "face_heatmaps": "tfdeepfake.explain.heatmaps",
    "has_attention": "tfdeepfake.explain.heatmaps",
    "attention_rollout": "tfdeepfake.explain.rollout",
    "colorize": "tfdeepfake.explain.overlay",
    "face_region": "tfdeepfake.explain.overlay",
    "overlay_on_frame": "tfdeepfake.explain.overlay",
    "write_heatmap_video": "tfdeepfake.explain.overlay",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tfdeepfake.explain' has no attribute {name!r}")
