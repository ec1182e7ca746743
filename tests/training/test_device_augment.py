"""Augmentation on the accelerator (``training.device_augment``): its operations against the
host recipe's (tf.data, ``data.augment``), the two recipes' statistics over many draws, and
a TensorFlow training run with ``--augment-on device`` (the JAX run: test_train_jax.py)."""

import json

import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from tfdeepfake.data import augment as host
from tfdeepfake.training import device_augment as device
from tfdeepfake.training import resolve_config
from tfdeepfake.training.trainer import augment_placement

SIZE, N = 64, 256


def _faces(n=1, seed=0):
    """Smooth images with texture and an asymmetric left-right gradient, in [0, 1]."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    base = np.stack([0.2 + 0.6 * xx, 0.5 + 0.3 * np.sin(6 * yy), 0.3 + 0.4 * xx * yy], -1)
    texture = rng.normal(0, 0.05, (n, SIZE, SIZE, 3))
    return np.clip(base[None] + texture, 0, 1).astype(np.float32)


def _keys(n, step=0, seed=7):
    return device.example_keys(seed, np.uint32(step), n)


def test_random_draws_are_uniform_keyed_and_independent_of_the_batch():
    u = ops.convert_to_numpy(device.uniform(_keys(N), 3, (64,)))
    assert 0.0 <= u.min() and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.01 and abs(u.std() - np.sqrt(1 / 12)) < 0.01
    z = ops.convert_to_numpy(device.normal(_keys(N), 5, (64,)))
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1.0) < 0.02
    again = ops.convert_to_numpy(device.uniform(_keys(N), 3, (64,)))
    np.testing.assert_array_equal(u, again)  # same seed, step and example: same draw
    other_step = ops.convert_to_numpy(device.uniform(_keys(N, step=1), 3, (64,)))
    assert np.mean(other_step == u) < 0.01
    clips = ops.convert_to_numpy(device.example_keys(7, np.uint32(0), 6, frames=3))
    assert clips[0] == clips[2] != clips[3] == clips[5]  # a clip's frames share a key


@pytest.mark.parametrize("scale", [(0.5, 0.5), (0.7, 0.9)])
def test_downscale_is_tensorflows_area_then_bilinear_resize(scale):
    images, u = _faces(4), np.array([0.0, 0.3, 0.6, 0.99], np.float32)
    out = ops.convert_to_numpy(device.downscale(images, u, scale))
    for image, draw, got in zip(images, u, out):
        small = max(1, round(SIZE * (scale[0] + draw * (scale[1] - scale[0]))))
        low = tf.image.resize(image, [small, small], method="area")
        want = tf.image.resize(low, [SIZE, SIZE], method="bilinear").numpy()
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_colour_operations_match_the_host_recipe():
    image = _faces(1)
    h, s, v = device.rgb_to_hsv(image)
    np.testing.assert_allclose(np.stack([h, s, v], -1), tf.image.rgb_to_hsv(image), atol=1e-5)
    np.testing.assert_allclose(device.hsv_to_rgb(h, s, v), image, atol=1e-5)
    # Same draws -> same output: brightness/contrast (b, c) and HSV shifts.
    got = device.brightness_contrast(image, np.float32([0.8]), np.float32([0.1]))
    mean = image.mean()
    want = (image - mean) * (1 + 0.2 * (2 * 0.1 - 1)) + mean + 0.2 * (2 * 0.8 - 1)
    np.testing.assert_allclose(got, want, atol=1e-5)
    got = device.hue_saturation_value(image, *(np.float32([d]) for d in (0.9, 0.2, 0.6)))
    hsv = tf.image.rgb_to_hsv(image[0]).numpy()
    hsv[..., 0] = np.mod(hsv[..., 0] + 10 * 0.8 / 180, 1)
    hsv[..., 1] = np.clip(hsv[..., 1] - 30 * 0.6 / 255, 0, 1)
    hsv[..., 2] = np.clip(hsv[..., 2] + 20 * 0.2 / 255, 0, 1)
    np.testing.assert_allclose(got[0], tf.image.hsv_to_rgb(hsv), atol=1e-5)


def test_jpeg_like_error_is_libjpegs_at_the_same_quality():
    images = _faces(4)
    errors = []
    for quality in (50, 75, 99):
        draw = np.full(4, (quality - 50 + 0.5) / 50, np.float32)  # quality range (50, 99)
        got = ops.convert_to_numpy(device.jpeg_like(images, draw))
        libjpeg = np.stack([tf.image.adjust_jpeg_quality(x, quality).numpy() for x in images])
        ours, theirs = (np.sqrt(np.mean((x - images) ** 2)) for x in (got, libjpeg))
        assert 0.8 * theirs < ours < 1.25 * theirs, (quality, ours, theirs)
        assert np.abs(got - libjpeg).mean() < theirs  # nearer libjpeg's output than the input
        errors.append(ours)
    assert errors[0] > errors[1] > errors[2]


def test_noise_strengths_match_the_host_recipe():
    flat = np.full((N, SIZE, SIZE, 3), 0.5, np.float32)
    noisy = ops.convert_to_numpy(device.gaussian_noise(flat, _keys(N), 30))
    stds = (noisy - flat).std(axis=(1, 2, 3))
    expected = np.mean(np.sqrt(np.linspace(10, 50, 10001))) / 255  # E[sqrt(U(10, 50))] / 255
    host_noise = tf.data.Dataset.range(64).map(
        lambda i: tf.math.reduce_std(host.gaussian_noise({"image": flat[0]}, [i, 1])["image"] - 0.5)
    )
    host_stds = list(host_noise.as_numpy_iterator())
    assert abs(stds.mean() - expected) < 0.02 * expected
    assert abs(np.mean(host_stds) - expected) < 0.05 * expected
    assert stds.min() >= np.sqrt(10) / 255 * 0.95 and stds.max() <= np.sqrt(50) / 255 * 1.05
    images = _faces(N)
    iso = ops.convert_to_numpy(device.iso_noise(images, _keys(N), 20))
    host_iso = tf.data.Dataset.range(64).map(
        lambda i: host.iso_noise({"image": tf.gather(images, i)}, tf.stack([i, 2]))["image"]
    )
    host_iso = np.stack(list(host_iso.as_numpy_iterator()))
    ours = np.abs(iso - images).mean(axis=(1, 2, 3))
    theirs = np.abs(host_iso - images[:64]).mean(axis=(1, 2, 3))
    assert abs(ours.mean() - theirs.mean()) < 0.1 * theirs.mean()


def _recipe_statistics(before, after):
    """Per example: flipped (nearer its mirror image), mean change, high-frequency energy."""
    mirror = before[:, :, ::-1]
    flipped = np.abs(after - mirror).mean(axis=(1, 2, 3)) < np.abs(after - before).mean(
        axis=(1, 2, 3)
    )
    shift = (after - before).mean(axis=(1, 2, 3))
    detail = np.abs(np.diff(after, axis=2)).mean(axis=(1, 2, 3))
    return flipped, shift, detail


def test_device_recipe_has_the_host_recipes_statistics():
    images = _faces(N, seed=1)
    ours = ops.convert_to_numpy(device.augment_b4(images, _keys(N)))

    def one(i):
        state = {"image": tf.gather(images, i), "mask": tf.zeros((SIZE, SIZE, 1)),
                 "landmarks": tf.zeros(10), "label": tf.constant(0, tf.int64),
                 "has_mask": tf.constant(False)}
        return host.apply_augment(host.PRESETS["b4"], state, tf.stack([i, 3]))["image"]

    mapped = tf.data.Dataset.range(N).map(one, num_parallel_calls=2, deterministic=True)
    theirs = np.stack(list(mapped.as_numpy_iterator()))
    flip_a, shift_a, detail_a = _recipe_statistics(images, ours)
    flip_b, shift_b, detail_b = _recipe_statistics(images, theirs)
    tolerance = 3 * np.sqrt(0.25 / N)  # three standard errors of a rate of 0.5
    assert abs(flip_a.mean() - 0.5) < tolerance and abs(flip_b.mean() - 0.5) < tolerance
    assert abs(shift_a.std() - shift_b.std()) < 0.25 * shift_b.std()
    assert shift_a.min() > -0.25 and shift_a.max() < 0.25  # brightness limit 0.2 + noise
    assert abs(np.median(detail_a) - np.median(detail_b)) < 0.1 * np.median(detail_b)
    assert abs(detail_a.std() - detail_b.std()) < 0.3 * detail_b.std()


def test_placement_defaults_and_refusals(tmp_path):
    def config(name, **data):
        data = {"train": str(tmp_path), **data}
        return resolve_config(name, overrides={"out": str(tmp_path), "data": data})

    from tfdeepfake.models import get_preset

    b4, b7 = get_preset("autoatt_b4_tiny"), get_preset("b7_ssim_tiny")
    assert augment_placement(config("autoatt_b4_tiny"), b4, accelerated=False) == "host"
    assert augment_placement(config("autoatt_b4_tiny"), b4, accelerated=True) == "device"
    assert augment_placement(config("b7_ssim_tiny"), b7, accelerated=True) == "host"
    on_device = config("b7_ssim_tiny", augment_on="device")
    with pytest.raises(ValueError, match="--augment-on host"):
        augment_placement(on_device, b7, accelerated=True)
    with pytest.raises(ValueError, match="data.augment_on must be one of auto, host, device"):
        config("autoatt_b4_tiny", augment_on="gpu")


def test_compiled_step_augments_uint8_frames_and_clips_as_eager_does():
    preset_mean, preset_std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)
    frames = (_faces(4, seed=2) * 255).astype(np.uint8)
    clips = frames.reshape(2, 2, SIZE, SIZE, 3)

    @tf.function(jit_compile=False)
    def step(images, frames_per_example):
        keys = device.example_keys(7, tf.constant(3, tf.int64), 4, frames=frames_per_example)
        return device.augment_batch(images, keys, preset_mean, preset_std)

    eager = device.augment_batch(frames, device.example_keys(7, np.uint32(3), 4),
                                 preset_mean, preset_std)
    np.testing.assert_allclose(step(frames, 1), eager, atol=1e-4)
    low = (0.0 - np.array(preset_mean)) / preset_std
    high = (1.0 - np.array(preset_mean)) / preset_std
    assert np.all(eager >= low - 1e-5) and np.all(eager <= high + 1e-5)
    clip_out = step(clips, 2).numpy()
    assert clip_out.shape == clips.shape
    # one draw per clip: the flip and colour draws agree between a clip's two frames
    first, second = clips[:, 0] / 255.0, clips[:, 1] / 255.0
    assert np.corrcoef(clip_out[:, 0].ravel() - clip_out[:, 1].ravel(),
                       (first - second).ravel())[0, 1] > 0.5
    with pytest.raises(ValueError, match="--augment-on host"):
        device.augment_batch(frames, device.example_keys(7, np.uint32(3), 4), (0,) * 3,
                             (1,) * 3, recipe="b7")


@pytest.mark.slow
def test_tensorflow_training_augments_on_device(tmp_path):
    from tfdeepfake.cli import main
    from tfrecords_tools.synthetic import write_synthetic_shards

    write_synthetic_shards(tmp_path / "train", n_real=2, n_fake=2, frames=4, size=32, seed=0)
    args = ["train", "--model", "autoatt_b4_tiny", "--data", str(tmp_path / "train"),
            "--batch-size", "4", "--steps", "2", "--no-progress", "--augment-on", "device"]
    assert main([*args, "--out", str(tmp_path / "run")]) == 0
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["data"]["augment_on"] == "device"
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["augment_on"] == "device" and summary["steps"] == 2
