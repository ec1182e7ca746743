"""Stored crop -> model input: centre re-crop to the preset's margin, resize, normalise.

Training (``frame_dataset`` and friends) and inference (``preset_images``) call the same
functions, so the two cannot drift apart. Stored crops are square (see the TFRecord schema),
so every preset takes a square centre crop; ``crop_mode="pad"`` presets get the same square
crop (their zero-padding to square is a no-op on square crops). ``crop_mode="aligned"``
presets (GenD) warp the stored crop by its five landmarks instead (``tfdeepfake.data.align``);
``crop_mode="stretch"`` presets (imported ResNeXt-LSTM weights, whose app crops
face_recognition's box and resizes it to 112 x 112 whatever its shape) cut the face box
itself out of the stored crop and stretch it to the input size (``stretch_crops``).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfdeepfake.data.align import align_faces
from tfrecords_tools.schema import recrop_fraction


def crop_box(fraction: tf.Tensor, stored: tf.Tensor, size: int) -> tf.Tensor:
    """Normalised ``[y0, x0, y1, x1]`` for ``crop_and_resize`` of the centre crop keeping
    ``fraction`` of a ``stored``-pixel side, sampled at pixel centres like ``tf.image.resize``
    (``crop_and_resize`` maps box corners to the centres of the corner pixels)."""
    fraction = tf.cast(fraction, tf.float32)
    stored = tf.cast(stored, tf.float32)
    step = fraction * stored / size  # input pixels per output pixel
    lo = (stored * (1.0 - fraction) / 2.0 + 0.5 * step - 0.5) / (stored - 1.0)
    hi = lo + step * (size - 1) / (stored - 1.0)
    return tf.stack([lo, lo, hi, hi])


def recrop_fraction_tf(stored_margin: tf.Tensor, wanted_margin: float) -> tf.Tensor:
    """``schema.recrop_fraction`` in the graph; fails naming both margins when too small."""
    stored_margin = tf.cast(stored_margin, tf.float32)
    check = tf.debugging.assert_less_equal(
        tf.constant(wanted_margin, tf.float32),
        stored_margin + 1e-4,
        message=f"The shards' crop_margin is smaller than the model's face_margin "
        f"{wanted_margin:.3f}; re-extract with `tfdeepfake extract --margin "
        f"{wanted_margin}` or larger.",
    )
    with tf.control_dependencies([check]):
        return (1.0 + 2.0 * wanted_margin) / (1.0 + 2.0 * stored_margin)


def recrop(
    images: tf.Tensor, fraction: tf.Tensor, size: int, method: str = "bilinear"
) -> tf.Tensor:
    """Centre-crop ``fraction`` of (N, S, S, C) images and resize to (N, size, size, C) float32.

    When the window is ``size`` pixels on the stored pixel grid (crops stored at
    ``faces.crop.stored_crop_size``, e.g. 320 px for a 224 px preset at margin 0.2),
    it is cut out: the pixels the resampling would give, at a tenth of its cost (1.2 ms less a
    224 px crop on one core)."""
    stored = tf.shape(images)[1]
    spare = stored - size
    window = tf.cast(fraction, tf.float32) * tf.cast(stored, tf.float32)
    on_grid = tf.logical_and(spare >= 0, spare % 2 == 0)
    exact = tf.logical_and(tf.abs(window - size) < 1e-3, on_grid)

    def cut():
        start = spare // 2
        return tf.cast(tf.slice(images, [0, start, start, 0], [-1, size, size, -1]), tf.float32)

    def resample():
        n = tf.shape(images)[0]
        boxes = tf.tile(crop_box(fraction, stored, size)[None], [n, 1])
        return tf.image.crop_and_resize(
            tf.cast(images, tf.float32), boxes, tf.range(n), [size, size], method=method
        )

    return tf.cond(exact, cut, resample)


def recrop_landmarks(
    landmarks: tf.Tensor, fraction: tf.Tensor, stored_size: tf.Tensor, size: int
) -> tf.Tensor:
    """Landmarks (..., 10) in stored-crop pixels -> pixels of the re-cropped, resized crop."""
    stored_size = tf.cast(stored_size, tf.float32)
    fraction = tf.cast(fraction, tf.float32)
    offset = stored_size * (1.0 - fraction) / 2.0
    return (tf.cast(landmarks, tf.float32) - offset) * (size / (stored_size * fraction))


def normalise(images: tf.Tensor, preset) -> tf.Tensor:
    """[0, 255] RGB -> ``(x / 255 - mean) / std`` (as ``models.FacePreprocessor``), as one
    multiply-add with the per-channel factors spread to the image's shape first: TensorFlow's
    broadcast of a per-channel vector costs several times a same-shape operation on a CPU."""
    images = tf.cast(images, tf.float32)
    std = np.asarray(preset.std, np.float32)
    scale, offset = 1.0 / (255.0 * std), -np.asarray(preset.mean, np.float32) / std
    if images.shape.rank == 3 and images.shape.is_fully_defined():
        shape = images.shape  # one example (a tf.data map): constants of its shape
        return images * np.broadcast_to(scale, shape) + np.broadcast_to(offset, shape)
    shape = tf.shape(images)
    return images * tf.broadcast_to(scale, shape) + tf.broadcast_to(offset, shape)


def stretch_crops(crops, stored_margin: float, boxes, margin: float, size: int) -> tf.Tensor:
    """The face box grown by ``margin`` on each side, cut from each square stored crop and
    resized to ``size`` x ``size`` without keeping its aspect ratio (float32, [0, 255]).

    A stored crop is the square of side ``(1 + 2 * stored_margin) * max(w, h)`` around the
    box centre (``tfdeepfake.faces.crop``), so the box's ``w`` and ``h`` (``boxes`` (N, 4)
    ``[x0, y0, x1, y1]`` in frame pixels) place it exactly.
    """
    if boxes is None:
        raise ValueError(
            "This preset stretches the face box to its input (crop_mode='stretch'); pass "
            "boxes=(N, 4) [x0, y0, x1, y1] in frame pixels (FaceTrack.boxes)."
        )
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    if len(b) != len(crops):
        raise ValueError(f"Got {len(b)} boxes for {len(crops)} crops; pass one per crop.")
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    side = (1 + 2 * stored_margin) * np.maximum(w, h)
    half_w, half_h = (1 + 2 * margin) * w / side / 2, (1 + 2 * margin) * h / side / 2
    regions = np.stack([0.5 - half_h, 0.5 - half_w, 0.5 + half_h, 0.5 + half_w], 1)
    n = len(b)
    return tf.image.crop_and_resize(
        tf.cast(crops, tf.float32), regions.astype(np.float32), tf.range(n), [size, size]
    )


def preset_images(crops, stored_margin: float, preset, landmarks=None, boxes=None) -> tf.Tensor:
    """Stored crops (N, S, S, 3) uint8, cut with ``stored_margin`` -> the preset's normalised
    float32 input (N, size, size, 3). ``crop_mode="aligned"`` presets need the crops'
    landmarks (N, 10) in crop pixels, ``crop_mode="stretch"`` ones the face boxes (N, 4) in
    frame pixels. Raises ``ValueError`` if the margin is too small or they are missing."""
    return normalise(preset_pixels(crops, stored_margin, preset, landmarks, boxes), preset)


def preset_pixels(crops, stored_margin: float, preset, landmarks=None, boxes=None) -> tf.Tensor:
    """``preset_images`` before normalisation: float32 pixels in [0, 255] at the preset's
    size (re-cropped, aligned or stretched)."""
    fraction = recrop_fraction(float(stored_margin), preset.face_margin)
    crops = np.asarray(crops)
    if crops.ndim != 4 or crops.shape[-1] != 3:
        raise ValueError(f"crops must be (N, S, S, 3) RGB, got shape {crops.shape}.")
    if preset.crop_mode == "aligned":
        return align_faces(crops, checked_landmarks(landmarks, len(crops)), preset.input_size)
    if preset.crop_mode == "stretch":
        return stretch_crops(crops, stored_margin, boxes, preset.face_margin, preset.input_size)
    return recrop(crops, fraction, preset.input_size)


def checked_landmarks(landmarks, count: int) -> np.ndarray:
    """(N, 10) float32 landmarks, or a ValueError saying aligned presets need them."""
    if landmarks is None:
        raise ValueError(
            "This preset aligns faces by their 5 landmarks (crop_mode='aligned'); pass "
            "landmarks=(N, 10) in crop pixels (FaceTrack.landmarks, the shards' 'landmarks')."
        )
    points = np.asarray(landmarks, np.float32).reshape(-1, 10)
    if len(points) != count:
        raise ValueError(f"Got {len(points)} landmark rows for {count} crops; pass one per crop.")
    return points
