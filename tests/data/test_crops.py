"""data.crops: the re-crop's exact-window cut and the normalisation's two forms."""

import numpy as np
import pytest
import tensorflow as tf

from tfdeepfake.data.crops import crop_box, normalise, recrop
from tfdeepfake.models import get_preset


def _resampled(images, fraction, size):
    """What ``recrop`` computed before the cut: ``crop_and_resize`` of the centre window."""
    n = len(images)
    boxes = np.tile(crop_box(fraction, images.shape[1], size).numpy()[None], (n, 1))
    return tf.image.crop_and_resize(
        images.astype(np.float32), boxes, tf.range(n), [size, size]
    ).numpy()


@pytest.fixture
def crops():
    return np.random.default_rng(0).integers(0, 256, (2, 320, 320, 3)).astype(np.uint8)


def test_a_window_on_the_pixel_grid_is_cut_out_exactly(crops):
    out = recrop(crops, tf.constant(0.7), 224).numpy()  # 0.7 x 320 = 224, 48 px each side
    assert out.dtype == np.float32 and out.shape == (2, 224, 224, 3)
    np.testing.assert_array_equal(out, crops[:, 48:272, 48:272].astype(np.float32))
    np.testing.assert_allclose(out, _resampled(crops, 0.7, 224), atol=1e-2)


@pytest.mark.parametrize(
    "fraction, size",
    [(0.56, 224), (0.7, 64), (223 / 320, 223)],  # upsampled, downsampled, half-pixel offset
)
def test_other_windows_are_resampled(crops, fraction, size):
    out = recrop(crops, tf.constant(fraction), size).numpy()
    assert out.shape == (2, size, size, 3)
    np.testing.assert_allclose(out, _resampled(crops, fraction, size), atol=1e-3)


def test_the_cut_keeps_static_shapes_in_a_graph():
    fn = tf.function(
        lambda images, fraction: recrop(images, fraction, 224),
        input_signature=[
            tf.TensorSpec((None, None, None, 3), tf.uint8),
            tf.TensorSpec((), tf.float32),
        ],
    )
    assert fn.get_concrete_function().structured_outputs.shape.as_list() == [None, 224, 224, 3]


def test_normalise_is_the_same_for_one_example_and_a_batch():
    preset = get_preset("autoatt_b4")
    pixels = np.random.default_rng(1).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    expected = (pixels / 255 - np.float32(preset.mean)) / np.float32(preset.std)
    np.testing.assert_allclose(normalise(pixels, preset).numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(normalise(pixels[0], preset).numpy(), expected[0], atol=1e-5)
    batch = tf.function(
        lambda x: normalise(x, preset),
        input_signature=[tf.TensorSpec((None, 32, 32, 3), tf.float32)],
    )
    np.testing.assert_allclose(batch(pixels).numpy(), expected, atol=1e-5)
