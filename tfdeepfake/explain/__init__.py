"""Where the detectors look: attention maps, Grad-CAM, and heatmap overlays on video."""

from tfdeepfake.explain.attention import attention_heatmap
from tfdeepfake.explain.gradcam import gradcam
from tfdeepfake.explain.overlay import (
    colorize,
    face_region,
    overlay_on_frame,
    write_heatmap_video,
)

__all__ = [
    "attention_heatmap",
    "colorize",
    "face_region",
    "gradcam",
    "overlay_on_frame",
    "write_heatmap_video",
]
