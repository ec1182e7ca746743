"""The references' augmentations in TF ops, deterministic under a seed.

Every operation takes a *state* dict (``image`` float32 (S, S, 3) in [0, 1]; and, for recipes
whose operations read them (``MASK_OPS``) or when masks are wanted, ``mask`` float32
(S, S, 1) in [0, 1], the SSIM mask; ``landmarks`` (10,) in crop pixels; ``label``;
``has_mask``) and a stateless seed (shape [2]) and returns the new state. Geometric operations
move the mask with the image. An ``AugmentConfig`` is an ordered tuple of ``Step`` s; a step
runs with probability ``p``; a ``one_of`` step runs one of its choices, picked uniformly.
Randomness comes only from ``tf.random.stateless_*`` keyed by the seed, so the same seed gives
the same output on every run.

Presets (REFERENCES.md): ``"b4"`` is the icpr2020dfdc recipe, ``"b7"`` the DFDC winner's.
Where a reference leaves a probability unsaid, 0.5 is used; ISO noise follows albumentations'
idea (Poisson-like luminance noise plus hue noise) with a Gaussian approximation.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

import tensorflow as tf

from tfdeepfake.data.cutout import guided_cutout

State = dict[str, tf.Tensor]


def _u(seed, lo=0.0, hi=1.0, shape=()):
    return tf.random.stateless_uniform(shape, seed, lo, hi)


def _fused(fn):
    """``fn`` compiled by XLA: its chain of per-pixel operations runs as one loop over the
    image. TensorFlow runs each operation as its own pass (a broadcast per-channel one several
    times slower), which made the HSV operations the recipe's main cost on a CPU. Random
    samples stay outside: XLA's CPU generator and its cosine are slower than TensorFlow's, and
    a compiled call costs about 0.5 ms (docs/benchmarks.md)."""
    return tf.function(fn, jit_compile=True)


def _random_words(count, seed):
    """``ceil(count / 2)`` uint32 words from ``stateless_uniform`` (Philox), each the 16-bit
    pair one Box-Muller transform needs (``_box_muller``)."""
    return tf.random.stateless_uniform(
        [(count + 1) // 2], seed, minval=None, maxval=None, dtype=tf.uint32
    )


def _box_muller(words, shape):
    """Standard normal samples of ``shape`` (a shape tensor) from ``_random_words``: each
    word's two 16-bit halves are the radius and angle uniforms (midpoints of 65,536 levels, so
    the radius stays finite: samples reach 4.85 standard deviations), giving two samples. The
    sine is the cosine's complement with the half-turn's sign (under half of ``tf.sin``'s
    cost on a CPU)."""
    count = tf.reduce_prod(shape)
    low = tf.cast(tf.bitwise.bitwise_and(words, 0xFFFF), tf.float32)
    high = tf.cast(tf.bitwise.right_shift(words, 16), tf.float32)
    radius = tf.sqrt(-2.0 * tf.math.log((low + 0.5) * (1.0 / 65536.0)))
    cosine = tf.cos((high + 0.5) * (2.0 * math.pi / 65536.0))
    sine = tf.sqrt(tf.maximum(1.0 - cosine * cosine, 0.0))
    sine = tf.where(high < 32768.0, sine, -sine)  # angles past half a turn: negative sine
    samples = tf.concat([radius * cosine, radius * sine], 0)[:count]
    return tf.reshape(samples, shape)


def _normal(shape, seed):
    """Standard normal samples of ``shape``, deterministic under ``seed`` like
    ``tf.random.stateless_normal`` and cheaper on a CPU (``_box_muller``)."""
    return _box_muller(_random_words(tf.reduce_prod(shape), seed), shape)


def _hsv_planes(image):
    """(S, S, 3) RGB in [0, 1] -> hue in sixths of a turn (in [-1, 5]: ``_from_hsv`` wraps
    it), chroma (max - min) and value (max), each (S, S): ``tf.image.rgb_to_hsv``'s hue."""
    r, g, b = tf.unstack(image, axis=-1)
    value = tf.maximum(tf.maximum(r, g), b)
    chroma = value - tf.minimum(tf.minimum(r, g), b)
    inverse = tf.math.reciprocal_no_nan(chroma)  # grey pixels: hue 0, as rgb_to_hsv
    not_red = tf.where(value == g, (b - r) * inverse + 2.0, (r - g) * inverse + 4.0)
    return tf.where(value == r, (g - b) * inverse, not_red), chroma, value


def _from_hsv(hue6, saturation, value):
    """HSV -> (S, S, 3) RGB, hue in sixths of a turn (any real: wrapped here): channel n is
    ``v (1 - s clip(min(k, 4 - k), 0, 1))``, ``k = (n + hue6) mod 6``, n = 5, 3, 1."""
    k = tf.stack([hue6 + 5.0, hue6 + 3.0, hue6 + 1.0], -1)
    k = k - 6.0 * tf.floor(k * (1.0 / 6.0))
    ramp = tf.clip_by_value(tf.minimum(k, 4.0 - k), 0.0, 1.0)
    return value[..., None] * (1.0 - saturation[..., None] * ramp)


def downscale(state: State, seed, scale=(0.5, 0.5)) -> State:
    """Downscale by a factor in ``scale`` (area) and back up (bilinear): loses detail."""
    image = state["image"]
    size = image.shape[0]
    small = tf.maximum(1, tf.cast(tf.round(size * _u(seed, *scale)), tf.int32))
    low = tf.image.resize(image, [small, small], method="area")
    return {**state, "image": tf.image.resize(low, [size, size], method="bilinear")}


def _moved(state: State, warp: Callable[[tf.Tensor], tf.Tensor]) -> State:
    """``state`` with ``warp`` applied to the image and, when the state has one, the mask."""
    moved = {**state, "image": warp(state["image"])}
    if "mask" in state:
        moved["mask"] = warp(state["mask"])
    return moved


def flip(state: State, seed) -> State:
    """Horizontal flip of image and mask (landmarks are only used before it, by cut-out)."""
    return _moved(state, lambda x: tf.reverse(x, [1]))


def brightness_contrast(state: State, seed, brightness=0.2, contrast=0.2) -> State:
    """``(x - mean) * (1 + c) + mean + b`` with b, c uniform in +-limits."""
    b_seed, c_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    image = state["image"]
    mean = tf.reduce_mean(image)
    out = (image - mean) * (1.0 + _u(c_seed, -contrast, contrast)) + mean
    return {**state, "image": out + _u(b_seed, -brightness, brightness)}


@_fused
def _shifted_hsv(image, turns, saturation, value):
    hue6, chroma, v = _hsv_planes(tf.clip_by_value(image, 0.0, 1.0))
    s = tf.clip_by_value(chroma * tf.math.reciprocal_no_nan(v) + saturation, 0.0, 1.0)
    return _from_hsv(hue6 + 6.0 * turns, s, tf.clip_by_value(v + value, 0.0, 1.0))


def hue_saturation_value(state: State, seed, hue=10, saturation=30, value=20) -> State:
    """Shift hue by up to ``hue`` of 180 (OpenCV units), saturation/value by up to n of 255:
    ``rgb_to_hsv``, shift, ``hsv_to_rgb`` in one fused pass (equal to 1e-6)."""
    seeds = tf.unstack(tf.random.experimental.stateless_split(seed, 3))
    image = _shifted_hsv(
        state["image"],
        _u(seeds[0], -hue, hue) / 180.0,
        _u(seeds[1], -saturation, saturation) / 255.0,
        _u(seeds[2], -value, value) / 255.0,
    )
    return {**state, "image": image}


def fancy_pca(state: State, seed, alpha=0.1) -> State:
    """AlexNet's PCA colour noise: add ``V @ (a * lambda)``, a ~ N(0, alpha) per component."""
    image = state["image"]
    pixels = tf.reshape(image, (-1, 3))
    centred = pixels - tf.reduce_mean(pixels, 0)
    cov = tf.matmul(centred, centred, transpose_a=True) / tf.cast(tf.shape(pixels)[0], tf.float32)
    eigval, eigvec = tf.linalg.eigh(cov)
    a = tf.random.stateless_normal([3], seed, 0.0, alpha)
    delta = tf.linalg.matvec(eigvec, a * tf.maximum(eigval, 0.0))
    return {**state, "image": image + delta}


@_fused
def _sensor_noise(image, luminance_noise, hue_noise, shift, power):
    hue6, chroma, value = _hsv_planes(tf.clip_by_value(image, 0.0, 1.0))
    saturation = chroma * tf.math.reciprocal_no_nan(value)
    lam = tf.math.reduce_std(value) * power * 255.0
    lum = tf.nn.relu(lam + tf.sqrt(lam) * luminance_noise) / 255.0
    value = tf.clip_by_value(value + lum * (1.0 - value), 0.0, 1.0)
    hue6 = hue6 + 6.0 * shift * power * hue_noise
    return _from_hsv(hue6, saturation, value)


def iso_noise(state: State, seed, color_shift=(0.01, 0.05), intensity=(0.1, 0.5)) -> State:
    """Camera sensor noise: hue jitter and luminance noise growing with image contrast."""
    seeds = tf.unstack(tf.random.experimental.stateless_split(seed, 4))
    shift, power = _u(seeds[0], *color_shift), _u(seeds[1], *intensity)
    shape = tf.shape(state["image"])[:2]
    noise = _normal(shape, seeds[2]), _normal(shape, seeds[3])
    image = _sensor_noise(state["image"], *noise, shift, power)
    return {**state, "image": image}


def gaussian_noise(state: State, seed, var=(10.0, 50.0)) -> State:
    """Additive Gaussian noise with variance in ``var`` (units of the 0-255 scale)."""
    v_seed, n_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    std = tf.sqrt(_u(v_seed, *var)) / 255.0
    image = state["image"]
    return {**state, "image": image + _normal(tf.shape(image), n_seed) * std}


def jpeg(state: State, seed, quality=(60, 100)) -> State:
    """Re-encode as JPEG with a quality drawn from ``quality`` (inclusive): the pixels of
    ``tf.image.adjust_jpeg_quality`` of the clipped image, with one clip and one scaling
    pass each way instead of its three (about 0.35 ms less a 224 px crop)."""
    q = tf.random.stateless_uniform([], seed, quality[0], quality[1] + 1, dtype=tf.int32)
    pixels = tf.cast(tf.clip_by_value(state["image"], 0.0, 1.0) * 255.5, tf.uint8)
    encoded = tf.raw_ops.EncodeJpegVariableQuality(images=pixels, quality=q)
    image = tf.cast(tf.io.decode_jpeg(encoded, channels=3), tf.float32) * (1.0 / 255.0)
    return {**state, "image": tf.reshape(image, tf.shape(state["image"]))}


def blur(state: State, seed, sigma=(0.3, 1.5), kernel=5) -> State:
    """Gaussian blur, separable, ``kernel`` taps, sigma drawn from ``sigma``."""
    s = _u(seed, *sigma)
    x = tf.cast(tf.range(kernel) - kernel // 2, tf.float32)
    k = tf.exp(-(x**2) / (2.0 * s * s))
    k /= tf.reduce_sum(k)
    image = state["image"][None]
    kx = tf.tile(tf.reshape(k, (1, kernel, 1, 1)), [1, 1, 3, 1])
    ky = tf.tile(tf.reshape(k, (kernel, 1, 1, 1)), [1, 1, 3, 1])
    out = tf.nn.depthwise_conv2d(image, kx, [1, 1, 1, 1], "SAME")
    out = tf.nn.depthwise_conv2d(out, ky, [1, 1, 1, 1], "SAME")
    return {**state, "image": out[0]}


def to_grey(state: State, seed) -> State:
    """Greyscale, kept as three channels."""
    return {**state, "image": tf.tile(tf.image.rgb_to_grayscale(state["image"]), [1, 1, 3])}


def shift_scale_rotate(state: State, seed, shift=0.1, scale=0.2, rotate=10.0) -> State:
    """Affine warp about the centre (zero border): shift by up to ``shift`` of the side, scale
    by 1 +- ``scale``, rotate by up to ``rotate`` degrees; the mask moves with the image."""
    seeds = tf.unstack(tf.random.experimental.stateless_split(seed, 4))
    size = state["image"].shape[0]
    tx, ty = _u(seeds[0], -shift, shift) * size, _u(seeds[1], -shift, shift) * size
    s = 1.0 + _u(seeds[2], -scale, scale)
    theta = _u(seeds[3], -rotate, rotate) * (math.pi / 180.0)
    cos, sin = tf.cos(theta) / s, tf.sin(theta) / s
    c = size / 2.0
    # Output pixel p -> input pixel A (p - c - t) + c with A = R(-theta) / s.
    a0, a1, b0, b1 = cos, sin, -sin, cos
    a2 = c - a0 * (c + tx) - a1 * (c + ty)
    b2 = c - b0 * (c + tx) - b1 * (c + ty)
    transform = tf.stack([a0, a1, a2, b0, b1, b2, 0.0, 0.0])[None]

    def warp(x):
        return tf.raw_ops.ImageProjectiveTransformV3(
            images=x[None],
            transforms=transform,
            output_shape=[size, size],
            fill_value=0.0,
            interpolation="BILINEAR",
            fill_mode="CONSTANT",
        )[0]

    return _moved(state, warp)


def cutout(state: State, seed, keep=0.3) -> State:
    """The DFDC winner's landmark/mask-guided cut-out (``tfdeepfake.data.cutout``)."""
    image = guided_cutout(
        state["image"],
        state["mask"],
        state["landmarks"],
        state["label"],
        state["has_mask"],
        seed,
        keep,
    )
    return {**state, "image": image}


MASK_OPS = ("cutout",)  # operations that read the state's mask, landmarks, label, has_mask
OPS: dict[str, Callable[..., State]] = {
    "downscale": downscale,
    "flip": flip,
    "brightness_contrast": brightness_contrast,
    "hsv": hue_saturation_value,
    "fancy_pca": fancy_pca,
    "iso_noise": iso_noise,
    "gaussian_noise": gaussian_noise,
    "jpeg": jpeg,
    "blur": blur,
    "to_grey": to_grey,
    "shift_scale_rotate": shift_scale_rotate,
    "cutout": cutout,
}


@dataclasses.dataclass(frozen=True)
class Step:
    """One augmentation step: ``op`` (a key of ``OPS`` or ``"one_of"``), run with probability
    ``p``, with keyword ``params``; ``one_of`` runs one of ``choices`` picked uniformly."""

    op: str
    p: float = 1.0
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    choices: tuple[Step, ...] = ()

    def __post_init__(self):
        if self.op != "one_of" and self.op not in OPS:
            raise ValueError(f"Unknown augmentation {self.op!r}; known: {sorted(OPS)}, one_of.")
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"Step {self.op!r}: p must be in [0, 1], got {self.p}.")
        if self.op == "one_of" and not self.choices:
            raise ValueError("A one_of step needs choices.")


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    """An ordered augmentation recipe (see the module docstring and ``PRESETS``)."""

    name: str
    steps: tuple[Step, ...]

    def uses_masks(self) -> bool:
        """Whether an operation reads the SSIM mask and landmarks (cut-out); without one the
        pipeline neither decodes nor re-crops masks for it."""

        def ops_of(steps):
            for step in steps:
                yield step.op
                yield from ops_of(step.choices)

        return any(op in MASK_OPS for op in ops_of(self.steps))


PRESETS: dict[str, AugmentConfig] = {
    "b4": AugmentConfig(
        "b4",
        (
            Step("downscale", 0.5, {"scale": (0.5, 0.5)}),
            Step("flip", 0.5),
            Step(
                "one_of",
                0.5,
                choices=(
                    Step("brightness_contrast"),
                    Step("hsv", params={"hue": 10, "saturation": 30, "value": 20}),
                ),
            ),
            Step("one_of", 0.5, choices=(Step("iso_noise"), Step("gaussian_noise"))),
            Step("downscale", 0.5, {"scale": (0.7, 0.9)}),
            Step("jpeg", 0.5, {"quality": (50, 99)}),
        ),
    ),
    "b7": AugmentConfig(
        "b7",
        (
            Step("cutout", 0.7),
            Step("jpeg", 0.5, {"quality": (60, 100)}),
            Step("gaussian_noise", 0.1),
            Step("blur", 0.05),
            Step("flip", 0.5),
            Step(
                "one_of", 0.7, choices=(Step("brightness_contrast"), Step("fancy_pca"), Step("hsv"))
            ),
            Step("to_grey", 0.2),
            Step("shift_scale_rotate", 0.5, {"shift": 0.1, "scale": 0.2, "rotate": 10.0}),
        ),
    ),
}


def resolve_augment(augment: None | bool | str | AugmentConfig, preset) -> AugmentConfig | None:
    """``None``/``False`` -> no augmentation; ``True`` -> the preset family's recipe ("b7" for
    b7_ssim models, else "b4"); a name -> ``PRESETS[name]``; a config -> itself."""
    if augment is None or augment is False:
        return None
    if augment is True:
        augment = "b7" if getattr(preset, "family", "") == "b7_ssim" else "b4"
    if isinstance(augment, str):
        if augment not in PRESETS:
            raise ValueError(f"Unknown augmentation preset {augment!r}; known: {sorted(PRESETS)}.")
        return PRESETS[augment]
    if isinstance(augment, AugmentConfig):
        return augment
    raise TypeError(
        f"augment must be None, a bool, a preset name or an AugmentConfig, "
        f"got {type(augment).__name__}."
    )


def _run_step(step: Step, state: State, seed) -> State:
    if step.op != "one_of":
        return OPS[step.op](state, seed, **step.params)
    pick_seed, op_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    index = tf.random.stateless_uniform([], pick_seed, 0, len(step.choices), dtype=tf.int32)
    branches = [lambda c=c: _run_step(c, state, op_seed) for c in step.choices]
    return tf.switch_case(index, branches)


def apply_augment(config: AugmentConfig, state: State, seed) -> State:
    """Run the recipe on one example's state; the image is clipped to [0, 1] at the end."""
    seed = tf.cast(seed, tf.int64)
    for i, step in enumerate(config.steps):
        step_seed = tf.random.experimental.stateless_fold_in(seed, i)
        coin_seed, op_seed = tf.unstack(tf.random.experimental.stateless_split(step_seed, 2))
        if step.p >= 1.0:
            state = _run_step(step, state, op_seed)
        elif step.p > 0.0:
            state = tf.cond(
                _u(coin_seed) < step.p,
                lambda s=step, st=state, k=op_seed: _run_step(s, st, k),
                lambda st=state: st,
            )
    return {**state, "image": tf.clip_by_value(state["image"], 0.0, 1.0)}
