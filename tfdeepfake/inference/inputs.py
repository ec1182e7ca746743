"""Stored face crops -> what each runtime takes.

Faces are cut once with ``STORED_MARGIN`` (as ``tfdeepfake extract`` stores them); each
model then takes the centre crop its own preset's ``face_margin`` asks for, exactly as the
training pipeline does (``tfdeepfake.data.preset_images``).
"""

from __future__ import annotations

import numpy as np

from tfdeepfake.faces.crop import STORED_MARGIN
from tfrecords_tools.margins import recrop_fraction


def model_inputs(crops: np.ndarray, stored_margin: float, preset, landmarks=None,
                 boxes=None) -> np.ndarray:
    """Crops cut with ``stored_margin`` -> the preset's normalised input (centre crop,
    landmark alignment or stretched box; resize). ``landmarks``: (T, 10) in crop pixels, for
    ``crop_mode="aligned"`` presets (GenD); ``boxes``: (T, 4) face boxes in frame pixels,
    for ``crop_mode="stretch"`` ones (imported ResNeXt-LSTM weights)."""
    from tfdeepfake.data import preset_images

    return np.asarray(preset_images(crops, stored_margin, preset, landmarks, boxes))


def centre_crops(crops: np.ndarray, stored_margin: float, preset, landmarks=None,
                 boxes=None) -> np.ndarray:
    """The part of each stored crop the preset's margin covers, still uint8 at stored size
    (``crop_mode="aligned"``: the aligned faces, uint8 at the model's size;
    ``"stretch"``: the face box stretched to the stored size)."""
    from tfrecords_tools.schema import centre_crop

    if preset.crop_mode == "stretch":
        from tfdeepfake.data.crops import stretch_crops

        stretched = stretch_crops(crops, stored_margin, boxes, preset.face_margin, len(crops[0]))
        return np.round(np.asarray(stretched)).astype(np.uint8)

    if preset.crop_mode == "aligned":
        from tfdeepfake.data.align import align_faces_uint8
        from tfdeepfake.data.crops import checked_landmarks

        points = checked_landmarks(landmarks, len(crops))
        return align_faces_uint8(crops, points, preset.input_size)

    fraction = recrop_fraction(stored_margin, preset.face_margin)
    return np.ascontiguousarray(centre_crop(crops, fraction))


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


def even_positions(n: int, k: int) -> np.ndarray:
    """At most ``k`` indices spread evenly over ``range(n)`` (first and last included)."""
    return np.unique(np.linspace(0, n - 1, min(n, k)).round().astype(int))
