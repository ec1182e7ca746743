"""Face cropping shared by training (extract) and inference (detect), so they cannot drift.

``square``: a square of side ``(1 + 2 * margin) * max(w, h)`` around the box centre, resized
isotropically to ``size``; parts outside the frame are black. ``pad``: the box grown by
``margin`` on every side, resized isotropically so its long side is ``size``, then centred
on a black ``size`` x ``size`` canvas.
"""

from __future__ import annotations

import cv2
import numpy as np

from tfrecords_tools.margins import recrop_fraction

CROP_MODES = ("square", "pad")
# The margin faces are stored with (``tfdeepfake extract``, ``Detector``): wide enough for
# every preset, each of which takes the centre crop its own ``face_margin`` asks for.
STORED_MARGIN = 0.5


def crop_region(box, margin: float, mode: str = "square") -> np.ndarray:
    """The ``[x0, y0, x1, y1]`` region of the frame a crop covers (before resizing)."""
    if mode not in CROP_MODES:
        raise ValueError(f"mode must be one of {CROP_MODES}, got {mode!r}.")
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}.")
    x0, y0, x1, y1 = (float(v) for v in box)
    w, h = x1 - x0, y1 - y0
    if w <= 0 or h <= 0:
        raise ValueError(f"box must have x1 > x0 and y1 > y0, got {list(box)}.")
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    if mode == "square":
        half_w = half_h = (1 + 2 * margin) * max(w, h) / 2
    else:
        half_w, half_h = (1 + 2 * margin) * w / 2, (1 + 2 * margin) * h / 2
    return np.array([cx - half_w, cy - half_h, cx + half_w, cy + half_h])


def crop_face(
    frame: np.ndarray,
    box,
    margin: float = STORED_MARGIN,
    size: int = 256,
    mode: str = "square",
    landmarks: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Cut one face out of a frame.

    Args:
        frame: (H, W, 3) uint8 RGB.
        box: ``[x0, y0, x1, y1]`` face box in the frame's pixels.
        margin: extra context on each side, as a fraction of the box side.
        size: side of the square output crop.
        mode: ``"square"`` or ``"pad"`` (see the module docstring).
        landmarks: optional (5, 2) points in frame pixels.

    Returns:
        ``(crop, landmarks_in_crop)``: (size, size, 3) uint8 and (5, 2) float32 in crop pixels
        (None when no landmarks were given).

    Example::

        crop, points = crop_face(frame, [100, 50, 180, 150], margin=0.5, size=224)
    """
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}.")
    x0, y0, x1, y1 = crop_region(box, margin, mode)
    k = size / max(x1 - x0, y1 - y0)  # one factor for both axes: isotropic
    out_w, out_h = (x1 - x0) * k, (y1 - y0) * k
    off_x, off_y = (size - out_w) / 2, (size - out_h) / 2
    # Affine map frame pixel -> crop pixel: scale by k, put the region's corner at the offset.
    matrix = np.array([[k, 0, off_x - x0 * k], [0, k, off_y - y0 * k]], np.float64)
    crop = _warp(frame, matrix, (x0, y0, x1, y1), k, size)
    if mode == "pad":  # black outside the (non-square) region
        cx0, cy0 = int(round(off_x)), int(round(off_y))
        cx1, cy1 = int(round(off_x + out_w)), int(round(off_y + out_h))
        crop[:cy0], crop[cy1:], crop[:, :cx0], crop[:, cx1:] = 0, 0, 0, 0
    points = None
    if landmarks is not None:
        pts = np.asarray(landmarks, np.float64).reshape(-1, 2)
        points = (pts @ matrix[:, :2].T + matrix[:, 2]).astype(np.float32)
    return crop, points


def _warp(frame: np.ndarray, matrix: np.ndarray, region, k: float, size: int) -> np.ndarray:
    """Apply ``matrix``; when shrinking, area-resize only the region first (no aliasing)."""
    border = {"borderMode": cv2.BORDER_CONSTANT, "borderValue": 0}
    if k >= 1:
        return cv2.warpAffine(frame, matrix, (size, size), flags=cv2.INTER_LINEAR, **border)
    height, width = frame.shape[:2]
    x0, y0, x1, y1 = region
    ix0, iy0 = max(int(np.floor(x0)) - 1, 0), max(int(np.floor(y0)) - 1, 0)
    ix1, iy1 = min(int(np.ceil(x1)) + 1, width), min(int(np.ceil(y1)) + 1, height)
    if ix1 <= ix0 or iy1 <= iy0:  # the region lies wholly outside the frame
        return np.zeros((size, size, frame.shape[2]), frame.dtype)
    roi = frame[iy0:iy1, ix0:ix1]
    small_w, small_h = max(1, round(roi.shape[1] * k)), max(1, round(roi.shape[0] * k))
    small = cv2.resize(roi, (small_w, small_h), interpolation=cv2.INTER_AREA)
    rx, ry = small_w / roi.shape[1], small_h / roi.shape[0]
    # small pixel u <-> frame x: x = (u + 0.5) / rx - 0.5 + ix0 (pixel-centre convention).
    second = np.array(
        [
            [k / rx, 0, k * (0.5 / rx - 0.5 + ix0) + matrix[0, 2]],
            [0, k / ry, k * (0.5 / ry - 0.5 + iy0) + matrix[1, 2]],
        ]
    )
    return cv2.warpAffine(small, second, (size, size), flags=cv2.INTER_LINEAR, **border)


def stored_crop_size(preset, stored_margin: float = STORED_MARGIN) -> int:
    """Side in pixels a crop cut with ``stored_margin`` needs so that the preset's centre crop
    still has ``preset.input_size`` pixels (no upsampling). A side that is a whole number up to
    float rounding is taken as it is (b7_ssim: 380 / (5/6) = 456, not 457)."""
    side = preset.input_size / recrop_fraction(stored_margin, preset.face_margin)
    return int(np.ceil(side - 1e-6))


def crop_size_for(presets, stored_margin: float = STORED_MARGIN) -> int:
    """The stored crop side that gives every preset (an ensemble: each of its members) its
    input without upsampling: ``tfdeepfake extract --for MODEL`` and ``detect`` cut this."""
    from tfdeepfake.models import get_preset

    flat = []
    for preset in presets:
        if preset.family == "ensemble":
            flat.extend(get_preset(name) for name in preset.config["members"])
        else:
            flat.append(preset)
    if not flat:
        raise ValueError("crop_size_for needs at least one model preset.")
    return max(stored_crop_size(p, stored_margin) for p in flat)
