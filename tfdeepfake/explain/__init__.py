"""Where the detectors look: attention maps, Grad-CAM, and heatmap overlays on video."""

from tfdeepfake.explain.attention import attention_heatmap
from tfdeepfake.explain.gradcam import gradcam
from tfdeepfake.explain.heatmaps import face_heatmaps, has_attention
from tfdeepfake.explain.overlay import (
    colorize,
    face_region,
    overlay_on_frame,
    write_heatmap_video,
)

__all__ = [
    "attention_heatmap",
    "colorize",
    "face_heatmaps",
    "face_region",
    "gradcam",
    "has_attention",
    "overlay_on_frame",
    "write_heatmap_video",
]
