"""The b4 augmentation recipe in ``keras.ops``: runs inside the compiled training step.

``augment_on="device"`` (``DataConfig.augment_on``): tf.data only decodes and re-crops, and
the step gets uint8 crops, which it augments and normalises here on the accelerator, on the
JAX and the TensorFlow backend alike. The recipe is ``tfdeepfake.data.augment.PRESETS["b4"]``
(icpr2020dfdc's; the ResNeXt-LSTM trains with it too), operation by operation, with the same
parameters and probabilities; a batch runs every operation and keeps, per example, the
result of those its draws picked.

Randomness is counter based: a 32-bit integer hash (``_mix``) of the example's key, a stream
number and the element's index, in ``keras.ops`` integer arithmetic, so both backends draw
the same numbers. The keys come from the run's seed and the step number (``example_keys``):
a resumed run draws what the uninterrupted run drew. The frames of a clip share their key,
so a clip gets one draw, as on the host.

Where it differs from the host recipe (tf.data, ``tfdeepfake.data.augment``): JPEG is
simulated (YCbCr, 4:2:0 chroma averaging, 8x8 DCT quantised with the IJG tables at the drawn
quality), not a libjpeg round trip; its error is within the tolerance
tests/training/test_device_augment.py states. The b7 recipe (landmark-guided cut-out,
affine warps) stays on the host.
"""

from __future__ import annotations

import math

import numpy as np
from keras import ops

from tfdeepfake.models.preprocessing import normalise_pixels

RECIPES = ("b4",)
_GOLDEN = 0x9E3779B9
_IJG_LUMA = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
]  # fmt: skip
_IJG_CHROMA = [17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
               24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99] + [99] * 32


def _u32(value: int):
    return ops.convert_to_tensor(np.uint32(value & 0xFFFFFFFF))


def _mix(x):
    """A 32-bit integer hash (lowbias32): consecutive inputs give unrelated outputs."""
    x = ops.bitwise_xor(x, ops.right_shift(x, 16))
    x = ops.multiply(x, _u32(0x7FEB352D))
    x = ops.bitwise_xor(x, ops.right_shift(x, 15))
    x = ops.multiply(x, _u32(0x846CA68B))
    return ops.bitwise_xor(x, ops.right_shift(x, 16))


def example_keys(seed: int, step, count: int, offset=0, frames: int = 1):
    """(count,) uint32 keys of a batch's examples at training ``step`` (a scalar tensor):
    example ``offset + i // frames`` of the step (a clip's ``frames`` share a key)."""
    step = ops.cast(step, "uint32")
    index = ops.floor_divide(ops.cast(ops.arange(count), "uint32"), frames)
    index = ops.cast(offset, "uint32") + index
    base = _mix(ops.bitwise_xor(_mix(step + _u32(seed * _GOLDEN)), _u32(seed)))
    return _mix(base + _mix(index + _u32(_GOLDEN)))


def uniform(keys, stream: int, shape=()):
    """Uniform [0, 1) float32 of shape ``(N, *shape)``, a function of the keys and stream."""
    base = _mix(ops.bitwise_xor(keys, _u32((stream + 1) * _GOLDEN)))
    count = int(np.prod(shape)) if shape else 1
    counter = ops.cast(ops.arange(count), "uint32")
    bits = _mix(base[:, None] + _mix(counter))
    values = ops.cast(ops.right_shift(bits, 8), "float32") * (1.0 / (1 << 24))
    return ops.reshape(values, (-1, *shape))


def normal(keys, stream: int, shape):
    """Standard normal float32 ``(N, *shape)`` by the Box-Muller transform."""
    radius = ops.sqrt(-2.0 * ops.log1p(-uniform(keys, stream, shape)))
    return radius * ops.cos((2.0 * math.pi) * uniform(keys, stream + 1, shape))


def _per_example(values, rank: int = 4):
    return ops.reshape(values, (-1,) + (1,) * (rank - 1))


# -- operations on (N, S, S, 3) float32 in [0, 1]; per-example parameters of shape (N,) ----


def _resample_matrix(small, size: int):
    """(N, S, S): the area downscale to ``small`` pixels and bilinear upscale back as one
    matrix per example (``tf.image.resize``'s area and half-pixel bilinear weights)."""
    small = ops.cast(small, "float32")[:, None, None]
    step = size / small  # input pixels per small pixel
    i = ops.cast(ops.arange(size), "float32")[None, :, None]  # small pixel (padded to S)
    k = ops.cast(ops.arange(size), "float32")[None, None, :]  # input pixel
    lo, hi = i * step, (i + 1.0) * step
    overlap = ops.maximum(ops.minimum(k + 1.0, hi) - ops.maximum(k, lo), 0.0)
    down = ops.where(i < small, overlap / step, 0.0)  # (N, S_small_padded, S)
    j = ops.cast(ops.arange(size), "float32")[None, :, None]  # output pixel
    centre = ops.maximum((j + 0.5) * small / size - 0.5, 0.0)
    first = ops.floor(centre)
    second = ops.minimum(first + 1.0, small - 1.0)
    weight = centre - first
    up = (1.0 - weight) * ops.cast(ops.equal(i[:, :, 0][:, None, :], first), "float32")
    up = up + weight * ops.cast(ops.equal(i[:, :, 0][:, None, :], second), "float32")
    return ops.matmul(up, down)


def downscale(x, u, scale):
    """Area downscale by a factor in ``scale`` and bilinear upscale back (per example)."""
    size = x.shape[1]
    small = ops.maximum(1.0, ops.round(size * (scale[0] + u * (scale[1] - scale[0]))))
    matrix = _resample_matrix(small, size)
    x = ops.einsum("nij,njkc->nikc", matrix, x)
    return ops.einsum("nkl,nilc->nikc", matrix, x)


def brightness_contrast(x, u_b, u_c, brightness=0.2, contrast=0.2):
    """``(x - mean) * (1 + c) + mean + b``, b and c uniform in +-limits."""
    mean = ops.mean(x, axis=(1, 2, 3), keepdims=True)
    c = _per_example(contrast * (2.0 * u_c - 1.0))
    b = _per_example(brightness * (2.0 * u_b - 1.0))
    return (x - mean) * (1.0 + c) + mean + b


def rgb_to_hsv(x):
    """(..., 3) RGB in [0, 1] -> HSV, hue in [0, 1) (``tf.image.rgb_to_hsv``'s convention)."""
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    value = ops.max(x, axis=-1)
    delta = value - ops.min(x, axis=-1)
    safe = ops.where(delta > 0, delta, 1.0)
    not_red = ops.where(value == g, 2.0 + (b - r) / safe, 4.0 + (r - g) / safe)
    hue = ops.where(value == r, (g - b) / safe, not_red)
    hue = ops.where(delta > 0, ops.mod(hue / 6.0, 1.0), 0.0)
    saturation = ops.where(value > 0, delta / ops.where(value > 0, value, 1.0), 0.0)
    return hue, saturation, value


def hsv_to_rgb(hue, saturation, value):
    """HSV -> (..., 3) RGB: channel n is ``v - v s clip(min(k, 4 - k), 0, 1)``,
    ``k = (n + 6 h) mod 6`` with n = 5, 3, 1."""
    k = ops.mod(ops.convert_to_tensor([5.0, 3.0, 1.0]) + 6.0 * hue[..., None], 6.0)
    ramp = ops.clip(ops.minimum(k, 4.0 - k), 0.0, 1.0)
    return value[..., None] * (1.0 - saturation[..., None] * ramp)


def hue_saturation_value(x, u_h, u_s, u_v, hue=10, saturation=30, value=20):
    """Shift hue by up to ``hue`` of 180, saturation/value by up to n of 255."""
    h, s, v = rgb_to_hsv(ops.clip(x, 0.0, 1.0))
    h = ops.mod(h + _per_example(hue * (2.0 * u_h - 1.0), 3) / 180.0, 1.0)
    s = ops.clip(s + _per_example(saturation * (2.0 * u_s - 1.0), 3) / 255.0, 0.0, 1.0)
    v = ops.clip(v + _per_example(value * (2.0 * u_v - 1.0), 3) / 255.0, 0.0, 1.0)
    return hsv_to_rgb(h, s, v)


def iso_noise(x, keys, stream, color_shift=(0.01, 0.05), intensity=(0.1, 0.5)):
    """Camera sensor noise: hue jitter and luminance noise growing with the image's contrast."""
    size = x.shape[1]
    shift = color_shift[0] + uniform(keys, stream) * (color_shift[1] - color_shift[0])
    power = intensity[0] + uniform(keys, stream + 1) * (intensity[1] - intensity[0])
    h, s, v = rgb_to_hsv(ops.clip(x, 0.0, 1.0))
    lam = _per_example(ops.std(v, axis=(1, 2)) * power * 255.0, 3)
    lum = ops.relu(lam + ops.sqrt(lam) * normal(keys, stream + 2, (size, size))) / 255.0
    v = ops.clip(v + lum * (1.0 - v), 0.0, 1.0)
    h = ops.mod(h + normal(keys, stream + 4, (size, size)) * _per_example(shift * power, 3), 1.0)
    return hsv_to_rgb(h, s, v)


def gaussian_noise(x, keys, stream, var=(10.0, 50.0)):
    """Additive Gaussian noise, variance uniform in ``var`` (0-255 units)."""
    std = ops.sqrt(var[0] + uniform(keys, stream) * (var[1] - var[0])) / 255.0
    return x + normal(keys, stream + 1, x.shape[1:]) * _per_example(std)


def _dct_matrix():
    n = np.arange(8)
    m = np.cos((2 * n[None, :] + 1) * n[:, None] * np.pi / 16) * np.sqrt(2 / 8)
    m[0] /= np.sqrt(2)
    return m.astype(np.float32)


def _quant_tables(quality):
    """(N, 8, 8) IJG quantisation tables at integer ``quality`` (N,) in [1, 100]."""
    scale = ops.where(quality < 50, 5000.0 / quality, 200.0 - 2.0 * quality)[:, None]
    tables = []
    for base in (_IJG_LUMA, _IJG_CHROMA):
        base = ops.convert_to_tensor(np.array(base, np.float32))[None]
        tables.append(ops.reshape(ops.clip(ops.floor((base * scale + 50.0) / 100.0), 1, 255),
                                  (-1, 8, 8)))
    return tables


def _quantise_blocks(plane, table):
    """DCT-quantise-invert the 8x8 blocks of (N, H, W) (H, W multiples of 8)."""
    n, height, width = plane.shape
    dct = ops.convert_to_tensor(_dct_matrix())
    blocks = ops.reshape(plane, (-1, height // 8, 8, width // 8, 8))
    coef = ops.einsum("ij,nbjck,lk->nbicl", dct, blocks, dct)
    step = table[:, None, :, None, :]
    coef = ops.round(coef / step) * step
    blocks = ops.einsum("ji,nbjck,kl->nbicl", dct, coef, dct)
    return ops.reshape(blocks, (-1, height, width))


def jpeg_like(x, u, quality=(50, 99)):
    """JPEG compression simulated at a quality drawn uniformly from ``quality`` (inclusive)."""
    size = x.shape[1]
    pad = -size % 16
    q = ops.floor(quality[0] + u * (quality[1] - quality[0] + 1))
    luma_table, chroma_table = _quant_tables(q)
    pixels = ops.clip(x, 0.0, 1.0) * 255.0
    if pad:
        pixels = ops.pad(pixels, ((0, 0), (0, pad), (0, pad), (0, 0)), mode="edge")
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b - 128.0
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b
    y = _quantise_blocks(y, luma_table)
    side = size + pad
    chroma = []
    for plane in (cb, cr):
        half = ops.mean(ops.reshape(plane, (-1, side // 2, 2, side // 2, 2)), axis=(2, 4))
        half = _quantise_blocks(half, chroma_table)
        chroma.append(ops.repeat(ops.repeat(half, 2, axis=1), 2, axis=2))
    cb, cr = chroma
    y = y + 128.0
    rgb = ops.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], -1)
    rgb = ops.round(ops.clip(rgb, 0.0, 255.0))[:, :size, :size] / 255.0
    return rgb


# -- the recipe ----------------------------------------------------------------------------


def _coin(keys, stream: int, p: float):
    return _per_example(uniform(keys, stream) < p)


def augment_b4(x, keys):
    """``PRESETS["b4"]`` on a batch (N, S, S, 3) float32 in [0, 1]; result clipped to [0, 1]."""

    def u(stream):
        return uniform(keys, stream)

    x = ops.where(_coin(keys, 0, 0.5), downscale(x, u(1), (0.5, 0.5)), x)
    x = ops.where(_coin(keys, 2, 0.5), ops.flip(x, axis=2), x)
    pick = _per_example(u(4) < 0.5)
    colour = ops.where(
        pick,
        brightness_contrast(x, u(5), u(6)),
        hue_saturation_value(x, u(7), u(8), u(9)),
    )
    x = ops.where(_coin(keys, 3, 0.5), colour, x)
    pick = _per_example(u(11) < 0.5)
    noisy = ops.where(pick, iso_noise(x, keys, 20), gaussian_noise(x, keys, 30))
    x = ops.where(_coin(keys, 10, 0.5), noisy, x)
    x = ops.where(_coin(keys, 12, 0.5), downscale(x, u(13), (0.7, 0.9)), x)
    x = ops.where(_coin(keys, 14, 0.5), jpeg_like(x, u(15), (50, 99)), x)
    return ops.clip(x, 0.0, 1.0)


def augment_batch(images, keys, mean, std, recipe: str = "b4"):
    """uint8 crops (N, S, S, 3) or clips (N, T, S, S, 3) -> augmented, normalised float32
    ``(x / 255 - mean) / std``; ``keys`` (N * T,) from ``example_keys``."""
    if recipe not in RECIPES:
        raise ValueError(
            f"augment_on='device' runs the {', '.join(RECIPES)} recipe; {recipe!r} (cut-out, "
            "affine warps) runs in tf.data: set data.augment_on='host' (--augment-on host)."
        )
    shape = ops.shape(images)
    x = ops.reshape(ops.cast(images, "float32") / 255.0, (-1, *images.shape[-3:]))
    x = augment_b4(x, keys)
    x = normalise_pixels(x, mean, std, max_value=1.0)
    return ops.reshape(x, shape)
