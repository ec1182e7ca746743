"""The SSIM layer against scikit-image's structural_similarity full maps."""

import keras
import numpy as np
import pytest
import scipy.ndimage as ndimage
from skimage import data
from skimage.metrics import structural_similarity

from tfdeepfake.models.ssim import SSIM, gaussian_taps


def _skimage_maps(a, b, data_range):
    return np.stack(
        [
            structural_similarity(
                x,
                y,
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False,
                data_range=data_range,
                channel_axis=-1,
                full=True,
            )[1]
            for x, y in zip(a, b)
        ]
    )


def _ours(a, b, data_range, method="centred"):
    maps = SSIM(data_range=data_range, method=method)((a.astype("float32"), b.astype("float32")))
    return keras.ops.convert_to_numpy(maps)


def test_window_is_scipys_truncated_gaussian():
    taps = gaussian_taps(1.5)
    assert taps.shape == (11,)
    impulse = np.zeros(31)
    impulse[15] = 1.0
    np.testing.assert_allclose(
        taps, ndimage.gaussian_filter1d(impulse, 1.5, truncate=3.5)[10:21], atol=1e-12
    )


# (method, tolerance against scikit-image): the exact and the fast way.
METHOD_TOLERANCE = [("centred", 1e-5), ("moments", 5e-4)]


@pytest.mark.parametrize(("method", "atol"), METHOD_TOLERANCE)
@pytest.mark.parametrize(("shape", "data_range"), [((2, 23, 31, 3), 1.0), ((1, 16, 16, 1), 255.0)])
def test_random_images_match_skimage(shape, data_range, method, atol):
    rng = np.random.default_rng(0)
    a = rng.uniform(0, data_range, shape)
    b = np.clip(a + rng.normal(0, 0.2 * data_range, shape), 0, data_range)
    got, expected = _ours(a, b, data_range, method), _skimage_maps(a, b, data_range)
    assert got.shape == expected.shape == shape
    np.testing.assert_allclose(got, expected, atol=atol)


@pytest.mark.parametrize(("method", "atol"), METHOD_TOLERANCE)
def test_real_image_matches_skimage_including_flat_bright_regions(method, atol):
    # The astronaut has saturated flat areas, where E[x^2] - E[x]^2 in float32 cancels:
    # "moments" is off there by about 2e-4, "centred" is not.
    face = data.astronaut().astype("float64")
    rng = np.random.default_rng(1)
    blurred = ndimage.gaussian_filter(face, (1.5, 1.5, 0)) + rng.normal(0, 4.0, face.shape)
    blurred = np.clip(blurred, 0, 255)
    got = _ours(face[None], blurred[None], 255.0, method)
    expected = _skimage_maps(face[None], blurred[None], 255.0)
    np.testing.assert_allclose(got, expected, atol=atol)
    assert expected.min() < 0.5 < expected.max()  # a non-trivial map


@pytest.mark.parametrize("method", ["centred", "moments"])
def test_identical_images_give_one_and_the_layer_is_symmetric(method):
    rng = np.random.default_rng(2)
    a = rng.uniform(0, 1, (1, 20, 20, 3))
    b = rng.uniform(0, 1, (1, 20, 20, 3))
    np.testing.assert_allclose(_ours(a, a, 1.0, method), 1.0, atol=1e-5)
    np.testing.assert_allclose(_ours(a, b, 1.0, method), _ours(b, a, 1.0, method), atol=1e-6)


def test_config_round_trip_and_bad_arguments():
    layer = SSIM(sigma=1.5, data_range=255.0, name="ssim")
    clone = SSIM.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert clone.method == "moments"
    with pytest.raises(ValueError, match="sigma and data_range must be > 0"):
        SSIM(data_range=0.0)
    with pytest.raises(ValueError, match="method must be one of"):
        SSIM(method="fast")
