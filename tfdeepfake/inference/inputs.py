"""Stored face crops -> what each runtime takes.

Faces are cut once with ``STORED_MARGIN`` (as ``tfdeepfake extract`` stores them); each
model then takes the centre crop its own preset's ``face_margin`` asks for, exactly as the
training pipeline does (``tfdeepfake.data.preset_images``).
"""

from __future__ import annotations

import numpy as np

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


def even_positions(n: int, k: int) -> np.ndarray:
    """At most ``k`` indices spread evenly over ``range(n)`` (first and last included)."""
    return np.unique(np.linspace(0, n - 1, min(n, k)).round().astype(int))
