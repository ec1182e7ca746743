"""SSIM: local structural-similarity maps as a Keras layer (keras.ops only).

Matches ``skimage.metrics.structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=R, channel_axis=-1, full=True)``: the same Gaussian
window (sigma 1.5, truncated at 3.5 sigma: 11 taps), the same border handling (scipy.ndimage
"reflect", i.e. the edge pixel repeated: numpy's "symmetric" pad) and the same constants
(K1 = 0.01, K2 = 0.03), one map per channel.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


def gaussian_taps(sigma: float, truncate: float = 3.5) -> np.ndarray:
    """The normalised 1-D Gaussian of scipy.ndimage.gaussian_filter (radius int(t*s + 0.5))."""
    radius = int(truncate * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1, dtype="float64")
    taps = np.exp(-0.5 * (offsets / sigma) ** 2)
    return taps / taps.sum()


@keras.saving.register_keras_serializable(package="tfdeepfake")
class SSIM(keras.layers.Layer):
    """Per-pixel, per-channel SSIM maps between two image batches.

    Call with ``(a, b)``, two (N, H, W, C) tensors in [0, data_range]; returns (N, H, W, C)
    SSIM in [-1, 1] (1 = identical neighbourhoods). H and W must be at least the window
    radius (5 pixels for sigma 1.5).

    Args:
        sigma: standard deviation of the Gaussian window in pixels.
        data_range: the value range of the images (1.0 for [0, 1], 255.0 for uint8 values).
        k1, k2: the SSIM stabilising constants.
        truncate: the window radius in sigmas (scipy's default for skimage's call: 3.5).

    Example:
        >>> maps = SSIM(data_range=1.0)((a, b))   # a, b: (N, H, W, 3) in [0, 1]
    """

    def __init__(
        self,
        sigma: float = 1.5,
        data_range: float = 1.0,
        k1: float = 0.01,
        k2: float = 0.03,
        truncate: float = 3.5,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if sigma <= 0 or data_range <= 0:
            raise ValueError(f"sigma and data_range must be > 0; got {sigma}, {data_range}.")
        self.sigma = float(sigma)
        self.data_range = float(data_range)
        self.k1 = float(k1)
        self.k2 = float(k2)
        self.truncate = float(truncate)
        self.taps = gaussian_taps(self.sigma, self.truncate)
        self.radius = len(self.taps) // 2

    def _blur(self, x):
        """Separable Gaussian filter with scipy's "reflect" border, channel by channel."""
        channels = x.shape[-1]
        r = self.radius
        x = ops.pad(x, ((0, 0), (r, r), (r, r), (0, 0)), mode="symmetric")
        taps = ops.convert_to_tensor(self.taps, dtype=x.dtype)
        rows = ops.tile(ops.reshape(taps, (-1, 1, 1, 1)), (1, 1, channels, 1))
        cols = ops.tile(ops.reshape(taps, (1, -1, 1, 1)), (1, 1, channels, 1))
        x = ops.depthwise_conv(x, rows, strides=1, padding="valid")
        return ops.depthwise_conv(x, cols, strides=1, padding="valid")

    def _central_moments(self, a, b, mu_a, mu_b):
        """Windowed variances and covariance as sums of w * (x - local mean) products.

        The textbook E[x^2] - E[x]^2 loses up to 2e-4 of SSIM to float32 cancellation on
        flat bright regions; summing centred products over the window offsets does not.
        """
        r = self.radius
        height, width = ops.shape(a)[1], ops.shape(a)[2]
        pad = ((0, 0), (r, r), (r, r), (0, 0))
        a_pad = ops.pad(a, pad, mode="symmetric")
        b_pad = ops.pad(b, pad, mode="symmetric")
        var_a = var_b = cov = 0.0
        for i, wi in enumerate(self.taps):
            for j, wj in enumerate(self.taps):
                da = ops.slice(a_pad, (0, i, j, 0), (-1, height, width, -1)) - mu_a
                db = ops.slice(b_pad, (0, i, j, 0), (-1, height, width, -1)) - mu_b
                w = float(wi * wj)
                var_a = var_a + w * da * da
                var_b = var_b + w * db * db
                cov = cov + w * da * db
        return var_a, var_b, cov

    def call(self, inputs):
        a, b = inputs
        a = ops.cast(a, self.compute_dtype) / self.data_range
        b = ops.cast(b, self.compute_dtype) / self.data_range
        mu_a, mu_b = self._blur(a), self._blur(b)
        var_a, var_b, cov = self._central_moments(a, b, mu_a, mu_b)
        c1, c2 = self.k1**2, self.k2**2
        numerator = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
        denominator = (mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2)
        return numerator / denominator

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "sigma": self.sigma,
            "data_range": self.data_range,
            "k1": self.k1,
            "k2": self.k2,
            "truncate": self.truncate,
        }
