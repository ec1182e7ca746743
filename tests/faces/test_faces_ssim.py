"""SSIM masks: zero where the crops agree, bright where the face was changed."""

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from tfdeepfake.faces.ssim_masks import ssim_mask


def test_ssim_mask_finds_the_changed_region():
    rng = np.random.default_rng(0)
    original = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    fake = original.copy()
    fake[20:44, 20:44] = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
    mask = ssim_mask(fake, original)
    assert mask.shape == (64, 64) and mask.dtype == np.uint8
    assert mask[26:38, 26:38].mean() > 150
    assert mask[:10, :10].max() == 0 and mask[54:, 54:].max() == 0
    assert ssim_mask(original, original).max() == 0
    # Agrees with skimage's mean SSIM, which leaves out a 5-pixel border.
    score = structural_similarity(
        fake,
        original,
        channel_axis=-1,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
    )
    assert abs((1 - mask[5:-5, 5:-5].astype(float) / 255).mean() - score) < 0.02


def test_ssim_mask_shape_mismatch():
    with pytest.raises(ValueError, match="differ in shape"):
        ssim_mask(np.zeros((8, 8, 3), np.uint8), np.zeros((9, 9, 3), np.uint8))
