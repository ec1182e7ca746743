"""5-point face alignment (GenD's ``crop_mode="aligned"``), in TensorFlow ops.

GenD (yermandy/GenD ``detector.py: align_face``) maps the five landmarks (left eye, right eye,
nose, left and right mouth corner, in image order: MTCNN's order too) with a similarity
transform (rotation, uniform scale, shift) onto a fixed template, with ``scale = 1.3`` of extra
context, warps bilinearly, and CLIP's processor then resizes the shorter side to 224 with a
bicubic filter and centre-crops. Here the warp goes to a ``ALIGN_CANVAS`` (256/224) larger
canvas, as GenD's detector default of 256 px for 224 px models, and a bicubic, antialiased
resize gives the model's side (on a square crop the centre crop is a no-op).

The similarity is the least-squares fit over the five points (GenD calls OpenCV's
``estimateAffinePartial2D`` with LMEDS, which on five clean landmarks finds the same fit).
Training (``tfdeepfake.data.pipelines``) and inference (``preset_images``) both call
``align_faces``, so they cannot drift apart.
"""

from __future__ import annotations

import tensorflow as tf

# Template points as fractions of the aligned side (GenD's detector.py), before the margin.
ALIGN_TEMPLATE = (
    (0.34, 0.46), (0.66, 0.46), (0.50, 0.64), (0.37, 0.82), (0.63, 0.82),
)
ALIGN_SCALE = 1.3
ALIGN_CANVAS = 256 / 224


def template_points(side: float, scale: float = ALIGN_SCALE) -> tf.Tensor:
    """The five template points (5, 2) in pixels of a ``side``-pixel aligned crop.

    GenD adds ``(scale - 1) / 2`` of the side on each edge and shrinks back to ``side``:
    ``side * (t + (scale - 1) / 2) / scale``.
    """
    t = tf.constant(ALIGN_TEMPLATE, tf.float32)
    return side * (t + (scale - 1.0) / 2.0) / scale


def similarity_to_template(landmarks: tf.Tensor, side: float) -> tf.Tensor:
    """Least-squares similarity (N, 4) ``[a, b, tx, ty]``: ``dst = [[a, -b], [b, a]] src + t``.

    Args:
        landmarks: (N, 10) or (N, 5, 2) landmark (x, y) in source pixels.
        side: the aligned crop's side in pixels.
    """
    src = tf.reshape(tf.cast(landmarks, tf.float32), (-1, 5, 2))
    dst = template_points(side)[None]
    src_mean = tf.reduce_mean(src, 1, keepdims=True)
    dst_mean = tf.reduce_mean(dst, 1, keepdims=True)
    s, d = src - src_mean, dst - dst_mean
    norm = tf.maximum(tf.reduce_sum(s**2, axis=(1, 2)), 1e-6)
    a = tf.reduce_sum(s[..., 0] * d[..., 0] + s[..., 1] * d[..., 1], 1) / norm
    b = tf.reduce_sum(s[..., 0] * d[..., 1] - s[..., 1] * d[..., 0], 1) / norm
    sx, sy = src_mean[:, 0, 0], src_mean[:, 0, 1]
    tx = dst_mean[0, 0, 0] - (a * sx - b * sy)
    ty = dst_mean[0, 0, 1] - (b * sx + a * sy)
    return tf.stack([a, b, tx, ty], axis=1)


def apply_similarity(points: tf.Tensor, params: tf.Tensor) -> tf.Tensor:
    """Map (N, 10) or (N, K, 2) points through (N, 4) similarities; same shape out."""
    shape = tf.shape(points)
    p = tf.reshape(tf.cast(points, tf.float32), (tf.shape(params)[0], -1, 2))
    a, b, tx, ty = (params[:, i, None] for i in range(4))
    x = a * p[..., 0] - b * p[..., 1] + tx
    y = b * p[..., 0] + a * p[..., 1] + ty
    return tf.reshape(tf.stack([x, y], -1), shape)


def warp_similarity(
    images: tf.Tensor, params: tf.Tensor, side: int, interpolation: str = "BILINEAR"
) -> tf.Tensor:
    """Warp (N, H, W, C) images by (N, 4) similarities into (N, side, side, C) float32 (black
    outside the source)."""
    a, b, tx, ty = (params[:, i] for i in range(4))
    det = a**2 + b**2
    ia, ib = a / det, b / det  # inverse rotation-scale: [[ia, ib], [-ib, ia]]
    zeros = tf.zeros_like(a)
    # ImageProjectiveTransform maps OUTPUT (x, y) to INPUT: x_in = a0 x + a1 y + a2, ...
    inverse = tf.stack([
        ia, ib, -(ia * tx + ib * ty),
        -ib, ia, ib * tx - ia * ty,
        zeros, zeros,
    ], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.cast(images, tf.float32),
        transforms=inverse,
        output_shape=tf.constant([side, side], tf.int32),
        fill_value=0.0,
        interpolation=interpolation,
        fill_mode="CONSTANT",
    )


def canvas_side(size: int) -> int:
    """The side the warp renders before the bicubic resize to ``size``."""
    return int(round(size * ALIGN_CANVAS))


def align_faces(images: tf.Tensor, landmarks: tf.Tensor, size: int) -> tf.Tensor:
    """Aligned faces (N, size, size, 3) float32 in [0, 255] from crops and their landmarks.

    Args:
        images: (N, H, W, 3) RGB in [0, 255] (uint8 or float).
        landmarks: (N, 10) landmark (x, y) in the images' pixels (MTCNN's order).
        size: the model's input side.

    Example:
        >>> faces = align_faces(crops, track.landmarks, 224)  # GenD's input, before CLIP mean/std
    """
    canvas = canvas_side(size)
    warped = warp_similarity(images, similarity_to_template(landmarks, canvas), canvas)
    resized = tf.image.resize(warped, (size, size), method="bicubic", antialias=True)
    return tf.clip_by_value(resized, 0.0, 255.0)


def align_faces_uint8(images, landmarks, size: int):
    """``align_faces`` rounded to uint8 numpy (the input of exported aligned models)."""
    return tf.cast(tf.round(align_faces(images, landmarks, size)), tf.uint8).numpy()


def align_landmarks(landmarks: tf.Tensor, size: int) -> tf.Tensor:
    """Where ``align_faces`` puts the landmarks (N, 10), in pixels of the ``size`` output."""
    canvas = canvas_side(size)
    params = similarity_to_template(landmarks, canvas)
    return apply_similarity(landmarks, params) * (size / canvas)


def unalign_maps(maps, landmarks, crop_side: int):
    """Maps (N, size, size) over aligned faces -> (N, crop_side, crop_side) over the crops the
    faces were aligned from (the inverse warp; zero where the aligned face saw no crop).

    The report draws GenD's heatmaps over the video with it.
    """
    import cv2
    import numpy as np

    maps = np.asarray(maps, np.float32)
    size = maps.shape[-1]
    canvas = canvas_side(size)
    params = similarity_to_template(landmarks, canvas).numpy() * (size / canvas)
    out = []
    for m, (a, b, tx, ty) in zip(maps, params):
        matrix = np.array([[a, -b, tx], [b, a, ty]], np.float64)
        out.append(cv2.warpAffine(m, matrix, (crop_side, crop_side),
                                  flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP))
    return np.stack(out)
