"""Self-blended images (SBI; Shiohara & Yamasaki, CVPR 2022): fakes made from real faces only.

A self-blended fake pastes a slightly altered copy of a face back onto the same face through a
soft mask over the face region. The copy (the *source*) differs from the original (the
*target*) only by what every face swap leaves behind: a colour mismatch (channel shifts,
brightness, contrast, hue, saturation), a small misregistration (scale and shift about the
face centre) and, half of the time, a loss of resolution (down- and up-sampling). A detector
that learns to see those blending traces does not depend on any one face-swap method.

Re-implemented here, in TensorFlow ops (it runs inside ``tf.data``), from the paper's
description; what differs:

- **Mask.** SBI takes the convex hull of 81 dlib landmarks, deforms it elastically, blurs it
  with a random kernel and scales it by a blend ratio drawn from {0.25, 0.5, 0.75, 1, 1, 1}.
  The shards store MTCNN's **five** landmarks (eyes, nose, mouth corners; ``landmarks`` in
  the TFRecord schema, in crop pixels), so the face region is an ellipse laid on the face's
  own axes: from the eyebrows (0.5 of the eye-to-mouth distance above the eyes) to the chin
  (0.8 below the mouth), 2.5 eye distances wide, each semi-axis scaled by a random
  factor (``hull_scale``: the hull's random dilation/erosion). Its outline is deformed by a
  smooth random radius profile (``deform``, over ``outline_points`` angles) and its edge
  blurred by a smoothstep ramp of random width (``edge``), so the mask is exactly 0 outside
  the ramp: pixels outside it are the original's, bit for bit.
- A frame whose landmarks are degenerate (eyes less than a pixel apart) gets the face frame
  of the stored crop's geometry instead (the box is the crop's centre ``1 / (1 + 2 margin)``).

Example:
    >>> fake, mask = self_blend(image, landmarks, seed=tf.constant([7, 0], tf.int64))
"""

from __future__ import annotations

import dataclasses
import math

import tensorflow as tf

BLEND_RATIOS = (0.25, 0.5, 0.75, 1.0, 1.0, 1.0)


@dataclasses.dataclass(frozen=True)
class SBIConfig:
    """Ranges of the random draws (each uniform) of one self-blended image.

    Attributes:
        hull_scale: factor on each semi-axis of the face ellipse.
        deform: largest relative change of the outline's radius at an outline point.
        outline_points: angles at which the outline's radius is drawn (linear in between).
        edge: width of the blurred edge, as a fraction of the eye-to-mouth distance.
        blend_ratios: the mask is scaled by one of these (SBI's list).
        channel_shift: largest shift of each RGB channel, in 0-255 units.
        brightness: largest brightness change, in 0-255 units.
        contrast: range of the contrast factor.
        hue: largest hue change (fraction of the colour wheel).
        saturation: range of the saturation factor.
        scale: range of the source's scale about the face centre.
        shift: largest shift of the source, as a fraction of the eye distance.
        downscale: range of the down-sampling factor of the source (applied half the time).
    """

    hull_scale: tuple[float, float] = (0.85, 1.15)
    deform: float = 0.12
    outline_points: int = 16
    edge: tuple[float, float] = (0.05, 0.25)
    blend_ratios: tuple[float, ...] = BLEND_RATIOS
    channel_shift: float = 20.0
    brightness: float = 25.0
    contrast: tuple[float, float] = (0.85, 1.15)
    hue: float = 0.03
    saturation: tuple[float, float] = (0.8, 1.2)
    scale: tuple[float, float] = (0.95, 1.05)
    shift: float = 0.04
    downscale: tuple[float, float] = (0.4, 0.8)


def _uniform(seed, low, high, shape=()):
    return tf.random.stateless_uniform(shape, seed, low, high, tf.float32)


def face_frame(landmarks: tf.Tensor, side: tf.Tensor, crop_margin: float | tf.Tensor = 0.5):
    """(eye centre (2,), mouth centre (2,), eye distance) of five landmarks (10,) in pixels of
    a ``side``-pixel crop; from the crop's geometry when the landmarks are degenerate."""
    points = tf.reshape(tf.cast(landmarks, tf.float32), (5, 2))
    eyes = (points[0] + points[1]) / 2.0
    mouth = (points[3] + points[4]) / 2.0
    eye_distance = tf.norm(points[1] - points[0])
    side = tf.cast(side, tf.float32)
    box = side / (1.0 + 2.0 * tf.cast(crop_margin, tf.float32))
    centre = tf.stack([side / 2.0, side / 2.0])
    fallback_eyes = centre - tf.stack([0.0, 0.12 * box])
    fallback_mouth = centre + tf.stack([0.0, 0.22 * box])
    ok = eye_distance >= 1.0
    return (
        tf.where(ok, eyes, fallback_eyes),
        tf.where(ok, mouth, fallback_mouth),
        tf.where(ok, eye_distance, 0.4 * box),
    )


def blend_mask(
    landmarks: tf.Tensor,
    height: tf.Tensor,
    width: tf.Tensor,
    seed: tf.Tensor,
    config: SBIConfig = SBIConfig(),
    crop_margin: float | tf.Tensor = 0.5,
) -> tf.Tensor:
    """The soft face mask (H, W) float32 in [0, 1] (before the blend ratio; module docstring)."""
    seeds = tf.random.experimental.stateless_split(seed, 4)
    eyes, mouth, eye_distance = face_frame(landmarks, height, crop_margin)
    down = mouth - eyes
    length = tf.maximum(tf.norm(down), 1.0)
    unit_down = down / length
    unit_right = tf.stack([-unit_down[1], unit_down[0]])  # image-right for an upright face
    top, bottom = -0.5 * length, length * 1.8  # eyebrows .. chin, along the face axis
    centre = eyes + unit_down * (top + bottom) / 2.0
    scales = _uniform(seeds[0], *config.hull_scale, shape=(2,))
    semi_down = (bottom - top) / 2.0 * scales[0]
    semi_right = 1.25 * eye_distance * scales[1]  # ~2 eye distances wide at the eyes

    ys, xs = tf.meshgrid(tf.range(tf.cast(height, tf.float32)) + 0.5,
                         tf.range(tf.cast(width, tf.float32)) + 0.5, indexing="ij")
    dx, dy = xs - centre[0], ys - centre[1]
    u = (dx * unit_right[0] + dy * unit_right[1]) / semi_right
    v = (dx * unit_down[0] + dy * unit_down[1]) / semi_down
    radius = tf.sqrt(u**2 + v**2)
    # The outline: radius 1 of the ellipse times a random profile over the angle (closed loop).
    k = config.outline_points
    profile = 1.0 + _uniform(seeds[1], -config.deform, config.deform, shape=(k,))
    position = (tf.atan2(v, u) + math.pi) / (2.0 * math.pi) * k
    lower = tf.math.floormod(tf.floor(position), k)
    frac = position - tf.floor(position)
    lower_i = tf.cast(lower, tf.int32)
    outline = (tf.gather(profile, lower_i) * (1.0 - frac)
               + tf.gather(profile, tf.math.floormod(lower_i + 1, k)) * frac)
    # Smoothstep edge of random width (in ellipse units: edge * length / semi-axis).
    half = _uniform(seeds[2], *config.edge) * length / tf.minimum(semi_down, semi_right) / 2.0
    t = tf.clip_by_value((outline - radius + half) / (2.0 * half), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _colour_jitter(image: tf.Tensor, seed: tf.Tensor, config: SBIConfig) -> tf.Tensor:
    """RGB shifts, brightness, contrast, hue and saturation of float32 [0, 255] (H, W, 3)."""
    s = tf.random.experimental.stateless_split(seed, 5)
    x = image + _uniform(s[0], -config.channel_shift, config.channel_shift, shape=(3,))
    x = x + _uniform(s[1], -config.brightness, config.brightness)
    mean = tf.reduce_mean(x, axis=(0, 1), keepdims=True)
    x = (x - mean) * _uniform(s[2], *config.contrast) + mean
    x = tf.clip_by_value(x, 0.0, 255.0) / 255.0
    x = tf.image.adjust_hue(x, _uniform(s[3], -config.hue, config.hue))
    x = tf.image.adjust_saturation(x, _uniform(s[4], *config.saturation))
    return tf.clip_by_value(x, 0.0, 1.0) * 255.0


def _geometry_jitter(image, centre, eye_distance, seed, config: SBIConfig):
    """Scale about ``centre`` and shift, edges reflected; then, half of the time, down- and
    up-sampling by a random factor (the source's lower resolution)."""
    s = tf.random.experimental.stateless_split(seed, 4)
    scale = _uniform(s[0], *config.scale)
    shift = _uniform(s[1], -config.shift, config.shift, shape=(2,)) * eye_distance
    # Output (x, y) reads input ((x - c) / scale + c - shift).
    cx, cy = centre[0], centre[1]
    transform = tf.stack([1.0 / scale, 0.0, cx - cx / scale - shift[0],
                          0.0, 1.0 / scale, cy - cy / scale - shift[1], 0.0, 0.0])
    size = tf.shape(image)[:2]
    warped = tf.raw_ops.ImageProjectiveTransformV3(
        images=image[None], transforms=transform[None], output_shape=size, fill_value=0.0,
        interpolation="BILINEAR", fill_mode="REFLECT",
    )[0]
    factor = _uniform(s[2], *config.downscale)
    small = tf.maximum(tf.cast(tf.round(tf.cast(size, tf.float32) * factor), tf.int32), 1)
    blurred = tf.image.resize(tf.image.resize(warped, small, method="area"), size,
                              method="bilinear")
    return tf.where(_uniform(s[3], 0.0, 1.0) < 0.5, blurred, warped)


def self_blend(
    image: tf.Tensor,
    landmarks: tf.Tensor,
    seed: tf.Tensor,
    config: SBIConfig = SBIConfig(),
    crop_margin: float | tf.Tensor = 0.5,
) -> tuple[tf.Tensor, tf.Tensor]:
    """A self-blended fake of one face crop and the mask it was blended with.

    Args:
        image: (H, W, 3) RGB crop, uint8 or float in [0, 255].
        landmarks: (10,) the five landmarks (x, y) in the crop's pixels (the shards' order).
        seed: (2,) int stateless seed: the same seed gives the same fake.
        config: ranges of the random draws.
        crop_margin: the crop's margin, for the fallback face frame (degenerate landmarks).

    Returns:
        ``(fake, mask)``: float32 (H, W, 3) in [0, 255], ``mask * source + (1 - mask) *
        image``; and the mask (H, W, 1) in [0, 1] (blend ratio included).
    """
    image = tf.cast(image, tf.float32)
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 4)
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    eyes, mouth, eye_distance = face_frame(landmarks, height, crop_margin)
    source = _colour_jitter(image, seeds[0], config)
    source = _geometry_jitter(source, (eyes + mouth) / 2.0, eye_distance, seeds[1], config)
    ratios = tf.constant(config.blend_ratios, tf.float32)
    pick = tf.random.stateless_uniform((), seeds[2], 0, len(config.blend_ratios), tf.int32)
    mask = blend_mask(landmarks, height, width, seeds[3], config, crop_margin)[..., None]
    mask = mask * ratios[pick]
    return mask * source + (1.0 - mask) * image, mask
