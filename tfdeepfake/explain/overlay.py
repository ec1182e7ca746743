"""Heatmaps on frames: colour them, paste them over the face in the full frame, carry them
between sampled frames, write an H.264 MP4 that browsers play inline.

Frames are RGB uint8 (H, W, 3), as everywhere in tfdeepfake; boxes are
``[x0, y0, x1, y1]`` in frame pixels. OpenCV's wheel cannot encode H.264, so videos go
through the FFmpeg binary that the imageio-ffmpeg wheel bundles (libx264, yuv420p,
``+faststart``: Chromium, Firefox and Safari play it in a ``<video>`` element).
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


def interpolate_track(
    sampled: Sequence[int], boxes: Sequence, heatmaps: Sequence, frames: Sequence[int]
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """One face track carried over every frame between its first and last sampled frame.

    Args:
        sampled: the frame indices the track was sampled at (increasing).
        boxes: ``[x0, y0, x1, y1]`` at each sampled frame.
        heatmaps: the (h, w) heatmap at each sampled frame.
        frames: the frame indices of the output video.

    Returns:
        frame index -> (box, heatmap) for each of ``frames`` within the track's span: the box
        moves linearly between its two neighbouring samples and the heatmap cross-fades.
    """
    sampled = np.asarray(sampled, dtype=np.float64).reshape(-1)
    if not (len(sampled) == len(boxes) == len(heatmaps)) or len(sampled) == 0:
        raise ValueError(f"a track needs as many boxes ({len(boxes)}) and heatmaps "
                         f"({len(heatmaps)}) as sampled frames ({len(sampled)}), at least one.")
    if np.any(np.diff(sampled) <= 0):
        raise ValueError(f"sampled frame indices must increase, got {sampled.tolist()}.")
    boxes = np.asarray(boxes, dtype=np.float64)
    maps = [np.asarray(h, dtype=np.float32) for h in heatmaps]
    out = {}
    for f in frames:
        if not sampled[0] <= f <= sampled[-1]:
            continue
        k = min(int(np.searchsorted(sampled, f, side="right")) - 1, len(sampled) - 1)
        if k == len(sampled) - 1 or sampled[k] == f:
            out[int(f)] = (boxes[k], maps[k])
            continue
        w = (f - sampled[k]) / (sampled[k + 1] - sampled[k])
        same = maps[k].shape == maps[k + 1].shape
        heat = (1 - w) * maps[k] + w * maps[k + 1] if same else maps[k]
        out[int(f)] = ((1 - w) * boxes[k] + w * boxes[k + 1], heat)
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
    """Write an H.264 MP4 of ``frames`` with each face's heatmap overlaid.

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
    writer = _h264_writer(out_path, width, height, fps)
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
            writer.send(_even_size(frame))
    finally:
        writer.close()
    return out_path


def _h264_writer(path: Path, width: int, height: int, fps: float):
    """A primed imageio-ffmpeg generator that encodes RGB frames to H.264 (even sizes:
    yuv420p needs them; ``_even_size`` trims the odd last row/column)."""
    import imageio_ffmpeg

    writer = imageio_ffmpeg.write_frames(
        str(path), (width - width % 2, height - height % 2), fps=float(fps), codec="libx264",
        pix_fmt_out="yuv420p", macro_block_size=2, ffmpeg_log_level="error",
        output_params=["-movflags", "+faststart", "-preset", "veryfast", "-crf", "23"],
    )
    writer.send(None)
    return writer


def _even_size(frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    return np.ascontiguousarray(frame[: h - h % 2, : w - w % 2])
