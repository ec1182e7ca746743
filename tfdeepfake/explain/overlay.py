"""Heatmaps on frames: colour them, paste them over the face in the full frame, write an MP4.

Frames are RGB uint8 (H, W, 3), as everywhere in tfdeepfake; boxes are
``[x0, y0, x1, y1]`` in frame pixels. OpenCV's wheel cannot encode H.264, so videos are
written with the ``mp4v`` (MPEG-4 Part 2) codec, which browsers other than Safari and
Firefox may not play inline; every desktop player does.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np


def colorize(heatmap: np.ndarray) -> np.ndarray:
    """A heatmap (H, W) in [0, 1] as an RGB uint8 image with OpenCV's JET colour map."""
    h = np.asarray(heatmap, dtype=np.float32)
    if h.ndim == 3 and h.shape[-1] == 1:
        h = h[..., 0]
    if h.ndim != 2:
        raise ValueError(f"heatmap must be (H, W) or (H, W, 1), got shape {h.shape}.")
    grey = np.clip(np.nan_to_num(h) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return cv2.applyColorMap(grey, cv2.COLORMAP_JET)[..., ::-1].copy()


def face_region(box: Sequence[float], margin: float) -> tuple[float, float, float, float]:
    """The square the face crop covers: side ``(1 + 2 * margin) * max(w, h)`` around the box
    centre (``faces.crop_region`` in square mode). Pass it to ``overlay_on_frame``."""
    from tfdeepfake.faces.crop import crop_region

    x0, y0, x1, y1 = (float(v) for v in crop_region(box, margin, "square"))
    return x0, y0, x1, y1


def overlay_on_frame(
    frame: np.ndarray, box: Sequence[float], heatmap: np.ndarray, alpha: float = 0.4
) -> np.ndarray:
    """Blend the coloured ``heatmap`` into ``frame`` over the region ``box``.

    Args:
        frame: RGB uint8 (H, W, 3); not modified.
        box: ``[x0, y0, x1, y1]`` of the frame region the heatmap covers (for a face crop:
            ``face_region(face_box, margin)``); parts outside the frame are cut off.
        heatmap: (h, w) in [0, 1], resized to the region.
        alpha: weight of the heatmap colour, in [0, 1].

    Returns:
        A new RGB uint8 frame of the same size.
    """
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[-1] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"frame must be RGB uint8 (H, W, 3), got {frame.shape} {frame.dtype}.")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}.")
    x0, y0, x1, y1 = (int(round(float(v))) for v in box)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"box must be [x0, y0, x1, y1] with x1 > x0 and y1 > y0, got {box}.")
    out = frame.copy()
    fh, fw = frame.shape[:2]
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, fw), min(y1, fh)
    if cx1 <= cx0 or cy1 <= cy0:
        return out  # the region lies outside the frame
    colour = cv2.resize(colorize(heatmap), (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    patch = colour[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0].astype(np.float32)
    region = out[cy0:cy1, cx0:cx1].astype(np.float32)
    out[cy0:cy1, cx0:cx1] = np.clip((1 - alpha) * region + alpha * patch + 0.5, 0, 255).astype(
        np.uint8
    )
    return out


def _per_frame(items, n: int, what: str) -> list:
    if len(items) != n:
        raise ValueError(f"{what} has {len(items)} entries but there are {n} frames.")
    return list(items)


def write_heatmap_video(
    frames: Sequence[np.ndarray],
    boxes_per_frame: Sequence,
    heatmaps: Sequence,
    fps: float,
    out_path: str | Path,
    alpha: float = 0.4,
) -> Path:
    """Write an MP4 (mp4v) of ``frames`` with each face's heatmap overlaid.

    Args:
        frames: RGB uint8 frames, all the same size; the video has this size and count.
        boxes_per_frame: per frame, the regions heatmaps cover: a list of ``[x0, y0, x1, y1]``
            (one per face), a single box, or None / [] when the frame has no face.
        heatmaps: per frame, the matching heatmaps (a list of (h, w) maps, a single map,
            or None).
        fps: frames per second of the output (use the source's fps over the sampling step).
        out_path: the ``.mp4`` file to write; its folder is created.

    Returns:
        The path written.
    """
    n = len(frames)
    if n == 0:
        raise ValueError("write_heatmap_video() got no frames.")
    if not fps or fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}; use 25 when the source has none.")
    boxes_per_frame = _per_frame(boxes_per_frame, n, "boxes_per_frame")
    heatmaps = _per_frame(heatmaps, n, "heatmaps")
    height, width = np.asarray(frames[0]).shape[:2]
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(
        str(out_path), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (width, height)
    )
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV could not open {out_path} for writing (codec mp4v).")
    try:
        for i, (frame, boxes, maps) in enumerate(zip(frames, boxes_per_frame, heatmaps)):
            frame = np.asarray(frame)
            if frame.shape[:2] != (height, width):
                raise ValueError(
                    f"frame {i} is {frame.shape[1]}x{frame.shape[0]} but frame 0 is "
                    f"{width}x{height}; all frames of a video must have one size."
                )
            boxes = [] if boxes is None else boxes
            maps = [] if maps is None else maps
            if len(boxes) and np.ndim(boxes) == 1:  # one box given without a list
                boxes, maps = [boxes], [maps]
            if len(boxes) != len(maps):
                raise ValueError(f"frame {i}: {len(boxes)} boxes but {len(maps)} heatmaps.")
            for box, heatmap in zip(boxes, maps):
                frame = overlay_on_frame(frame, box, heatmap, alpha)
            writer.write(np.ascontiguousarray(frame[..., ::-1]))
    finally:
        writer.release()
    return out_path
