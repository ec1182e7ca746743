"""The DFDC winner's cut-out, guided by landmarks and SSIM masks, in TF ops.

One of five kinds of region is blanked (set to 0): a band over the eyes, over the mouth, over
the nose, half of the face (top, bottom, left or right) or a quarter. For a fake with an SSIM
mask the cut is kept only if at least ``keep`` of its manipulated pixels (mask > 0.4) survive,
so a fake never loses the evidence that makes it fake; otherwise the image is left as it is.
"""

from __future__ import annotations

import tensorflow as tf

KINDS = ("eyes", "mouth", "nose", "half", "quarter")
MANIPULATED = 0.4  # the winner's threshold on 1 - SSIM


def _segment_band(size: int, p0: tf.Tensor, p1: tf.Tensor, half_width: tf.Tensor) -> tf.Tensor:
    """(size, size) float mask of pixels within ``half_width`` of the segment p0-p1."""
    coords = tf.cast(tf.range(size), tf.float32) + 0.5
    yy, xx = tf.meshgrid(coords, coords, indexing="ij")
    d = p1 - p0
    length2 = tf.maximum(tf.reduce_sum(d * d), 1e-6)
    t = tf.clip_by_value(((xx - p0[0]) * d[0] + (yy - p0[1]) * d[1]) / length2, 0.0, 1.0)
    dist2 = (xx - p0[0] - t * d[0]) ** 2 + (yy - p0[1] - t * d[1]) ** 2
    return tf.cast(dist2 <= half_width**2, tf.float32)


def _block(size: int, y0, y1, x0, x1) -> tf.Tensor:
    """(size, size) float mask of the block [y0, y1) x [x0, x1) in fractions of the side."""
    coords = tf.cast(tf.range(size), tf.float32) / size
    yy, xx = tf.meshgrid(coords, coords, indexing="ij")
    return tf.cast((yy >= y0) & (yy < y1) & (xx >= x0) & (xx < x1), tf.float32)


def cutout_region(size: int, landmarks: tf.Tensor, kind: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """(size, size, 1) float mask (1 = blank) of region ``kind`` (index into ``KINDS``)."""
    lm = tf.reshape(tf.cast(landmarks, tf.float32), (5, 2))
    eye_l, eye_r, nose, mouth_l, mouth_r = tf.unstack(lm)
    eye_dist = tf.norm(eye_r - eye_l)
    mouth_dist = tf.norm(mouth_r - mouth_l)
    side = tf.random.stateless_uniform([], seed, 0, 4, dtype=tf.int32)
    half = tf.switch_case(
        side,
        [
            lambda: _block(size, 0.0, 0.5, 0.0, 1.0),
            lambda: _block(size, 0.5, 1.0, 0.0, 1.0),
            lambda: _block(size, 0.0, 1.0, 0.0, 0.5),
            lambda: _block(size, 0.0, 1.0, 0.5, 1.0),
        ],
    )
    qy, qx = tf.cast(side // 2, tf.float32) / 2, tf.cast(side % 2, tf.float32) / 2
    region = tf.switch_case(
        kind,
        [
            lambda: _segment_band(size, eye_l, eye_r, eye_dist / 4),
            lambda: _segment_band(size, mouth_l, mouth_r, mouth_dist / 3),
            lambda: _segment_band(size, (eye_l + eye_r) / 2, nose, eye_dist / 4),
            lambda: half,
            lambda: _block(size, qy, qy + 0.5, qx, qx + 0.5),
        ],
    )
    return region[..., None]


def guided_cutout(
    image: tf.Tensor,
    mask: tf.Tensor,
    landmarks: tf.Tensor,
    label: tf.Tensor,
    has_mask: tf.Tensor,
    seed: tf.Tensor,
    keep: float = 0.3,
) -> tf.Tensor:
    """Blank one landmark- or block-region of ``image`` (H, W, C); see the module docstring.

    ``mask`` is the SSIM mask (H, W, 1) in [0, 1]; ``label`` 1 = fake. Returns the image.
    """
    size = image.shape[0]
    kind_seed, region_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    kind = tf.random.stateless_uniform([], kind_seed, 0, len(KINDS), dtype=tf.int32)
    region = cutout_region(size, landmarks, kind, region_seed)
    manipulated = tf.cast(mask > MANIPULATED, tf.float32)
    before = tf.reduce_sum(manipulated)
    after = tf.reduce_sum(manipulated * (1.0 - region))
    guarded = tf.logical_and(tf.equal(tf.cast(label, tf.int64), 1), has_mask)
    ok = tf.logical_or(tf.logical_not(guarded), after >= keep * before)
    return tf.where(ok, image * (1.0 - region), image)
