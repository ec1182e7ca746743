"""Where the detectors look: attention maps, Grad-CAM, and heatmap overlays on video.

Names are imported lazily, so the overlay functions (numpy + OpenCV) do not load Keras.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tfdeepfake._lazy import lazy_exports

if TYPE_CHECKING:
    from tfdeepfake.explain.attention import attention_heatmap
    from tfdeepfake.explain.grad_cam import gradcam
    from tfdeepfake.explain.heatmaps import face_heatmaps, has_attention
    from tfdeepfake.explain.overlay import (
        colorize,
        face_region,
        overlay_on_frame,
        write_heatmap_video,
    )
    from tfdeepfake.explain.rollout import attention_rollout

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
