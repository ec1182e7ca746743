"""Augmentations: each changes the image and keeps shape and range; seeded determinism;
geometric ops move the mask; guided cut-out keeps a fake's manipulated pixels."""

import numpy as np
import pytest
import tensorflow as tf

from tfdeepfake.data import AUGMENT_PRESETS, AugmentConfig, Step, apply_augment
from tfdeepfake.data.augment import OPS, resolve_augment
from tfdeepfake.data.cutout import MANIPULATED, cutout_region, guided_cutout
from tfdeepfake.models import get_preset
from tfrecords_tools.synthetic import _landmarks, draw_face

SIZE = 48


def _state(label=0, with_mask=True, seed=0):
    image, mask = draw_face(SIZE, np.random.default_rng(seed), fake=bool(label))
    mask = mask if with_mask else np.zeros_like(mask)
    return {
        "image": tf.constant(image, tf.float32) / 255.0,
        "mask": tf.constant(mask[..., None], tf.float32) / 255.0,
        "landmarks": tf.constant(_landmarks(SIZE)),
        "label": tf.constant(label, tf.int64),
        "has_mask": tf.constant(with_mask),
    }


@pytest.mark.parametrize("op", sorted(OPS))
def test_each_op_changes_image_and_keeps_shape_and_range(op):
    state = _state(label=0)
    out = apply_augment(AugmentConfig(op, (Step(op),)), state, [3, 4])
    image = out["image"].numpy()
    assert image.shape == (SIZE, SIZE, 3) and image.dtype == np.float32
    assert image.min() >= 0.0 and image.max() <= 1.0
    assert np.abs(image - state["image"].numpy()).mean() > 1e-3, op
    assert out["mask"].shape == (SIZE, SIZE, 1)


def test_same_seed_same_output_other_seed_differs():
    state = _state(label=1)
    for name, config in AUGMENT_PRESETS.items():
        a = [apply_augment(config, state, [7, i])["image"].numpy() for i in range(4)]
        b = [apply_augment(config, state, [7, i])["image"].numpy() for i in range(4)]
        np.testing.assert_array_equal(np.stack(a), np.stack(b))
        assert any(np.abs(a[0] - x).max() > 0 for x in a[1:]), name


def test_geometric_ops_move_the_mask_with_the_image():
    state = _state(label=1)
    state["image"] = tf.tile(state["mask"], [1, 1, 3])
    for op in ("flip", "shift_scale_rotate"):
        out = OPS[op](state, tf.constant([1, 2], tf.int64))
        assert np.abs(out["image"].numpy() - state["image"].numpy()).max() > 0.1
        np.testing.assert_allclose(out["image"].numpy()[..., :1], out["mask"].numpy(), atol=1e-5)


def test_cutout_keeps_enough_manipulated_pixels_of_fakes():
    state = _state(label=1)
    manipulated = state["mask"].numpy() > MANIPULATED
    before = manipulated.sum()
    lit = state["image"].numpy().max(-1, keepdims=True) > 0
    blanked_any = False
    for i in range(40):
        seed = tf.constant([5, i], tf.int64)
        out = guided_cutout(
            state["image"],
            state["mask"],
            state["landmarks"],
            state["label"],
            state["has_mask"],
            seed,
            keep=0.6,
        ).numpy()
        cut = np.all(out == 0, axis=-1, keepdims=True) & lit
        blanked_any |= cut.any()
        assert (manipulated & ~cut).sum() >= 0.6 * before
    assert blanked_any


def test_cutout_regions_follow_landmarks():
    lm = tf.constant(_landmarks(SIZE))
    eyes = cutout_region(SIZE, lm, tf.constant(0), tf.constant([0, 0], tf.int64)).numpy()[..., 0]
    mouth = cutout_region(SIZE, lm, tf.constant(1), tf.constant([0, 0], tf.int64)).numpy()[..., 0]
    ex, ey = _landmarks(SIZE)[0:2].astype(int)
    mx, my = _landmarks(SIZE)[6:8].astype(int)
    assert eyes[ey, ex] == 1 and eyes[my, mx] == 0
    assert mouth[my, mx] == 1 and mouth[ey, ex] == 0


def test_resolve_augment_and_bad_steps():
    assert resolve_augment(True, get_preset("b7_ssim_tiny")).name == "b7"
    assert resolve_augment(True, get_preset("autoatt_b4_tiny")).name == "b4"
    assert resolve_augment(False, None) is None
    with pytest.raises(ValueError, match="Unknown augmentation preset"):
        resolve_augment("b9", None)
    with pytest.raises(ValueError, match="Unknown augmentation"):
        Step("sharpen")
    with pytest.raises(ValueError, match="p must be"):
        Step("flip", p=2.0)


def test_box_muller_normal_has_normal_moments_and_follows_the_seed():
    from tfdeepfake.data.augment import _normal

    seed = tf.constant([3, 4], tf.int64)
    z = _normal(tf.constant([101, 99, 3]), seed).numpy()  # odd count: one unpaired
    assert z.shape == (101, 99, 3) and np.isfinite(z).all()
    standard = z.ravel()
    assert abs(standard.mean()) < 0.02 and abs(standard.std() - 1.0) < 0.02
    assert abs(np.mean(standard**3)) < 0.05 and abs(np.mean(standard**4) - 3.0) < 0.1
    assert abs(np.mean(np.abs(standard) > 1.96) - 0.05) < 0.005  # the tails, not just moments
    assert abs(np.mean(np.abs(standard) > 3.0) - 0.0027) < 0.0008
    assert np.abs(standard).max() < 4.86  # 16-bit radius uniforms: finite, bounded tails
    np.testing.assert_array_equal(z, _normal(tf.constant([101, 99, 3]), seed).numpy())
    assert not np.array_equal(z, _normal(tf.constant([101, 99, 3]), seed + 1).numpy())


def test_fused_colour_operations_equal_tensorflows_hsv_round_trip():
    """The HSV and ISO-noise operations skip ``tf.image.rgb_to_hsv``/``hsv_to_rgb`` (one
    XLA-fused pass instead): same output to float rounding, grey and saturated pixels too."""
    from tfdeepfake.data.augment import _sensor_noise, _shifted_hsv

    rng = np.random.default_rng(0)
    image = rng.random((32, 32, 3)).astype(np.float32)
    image[0, :4] = [[0.5, 0.5, 0.5], [0, 0, 0], [1, 1, 1], [1, 0, 0]]  # grey, black, white, red
    image[1, :3] = [[0.2, 0.9, 0.9], [0.9, 0.2, 0.9], [0.9, 0.9, 0.2]]  # ties for the max
    hsv = tf.image.rgb_to_hsv(image).numpy()
    for turns, sat, val in ((0.05, 0.1, -0.05), (-0.055, -0.12, 0.08), (0.0, 0.0, 0.0)):
        got = _shifted_hsv(tf.constant(image), *map(tf.constant, (turns, sat, val))).numpy()
        shifted = np.stack(
            [
                np.mod(hsv[..., 0] + turns, 1.0),
                np.clip(hsv[..., 1] + sat, 0, 1),
                np.clip(hsv[..., 2] + val, 0, 1),
            ],
            -1,
        )
        np.testing.assert_allclose(got, tf.image.hsv_to_rgb(shifted), atol=2e-6)
    lum, hue = rng.normal(size=(2, 32, 32)).astype(np.float32)
    got = _sensor_noise(tf.constant(image), lum, hue, tf.constant(0.03), tf.constant(0.3))
    got = got.numpy()
    lam = hsv[..., 2].std() * 0.3 * 255
    value = np.clip(
        hsv[..., 2] + np.maximum(lam + np.sqrt(lam) * lum, 0) / 255 * (1 - hsv[..., 2]), 0, 1
    )
    want = np.stack([np.mod(hsv[..., 0] + hue * 0.03 * 0.3, 1.0), hsv[..., 1], value], -1)
    np.testing.assert_allclose(got, tf.image.hsv_to_rgb(want), atol=2e-5)


def test_jpeg_equals_tensorflows_adjust_jpeg_quality():
    """The leaner JPEG round trip gives adjust_jpeg_quality's pixels exactly, at the quality
    the seed draws; out-of-range input is clipped first, as before."""
    image = tf.constant(np.random.default_rng(3).uniform(-0.2, 1.2, (40, 40, 3)), tf.float32)
    seed = tf.constant([5, 6], tf.int64)
    quality = tf.random.stateless_uniform([], seed, 50, 100, dtype=tf.int32)
    expected = tf.image.adjust_jpeg_quality(tf.clip_by_value(image, 0.0, 1.0), quality)
    got = OPS["jpeg"]({"image": image}, seed, quality=(50, 99))["image"]
    np.testing.assert_array_equal(got.numpy(), expected.numpy())
