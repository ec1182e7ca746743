"""crop_mode="stretch": the ResNeXt-LSTM app's crop (the tight face box, no margin, resized to
a square whatever its shape), cut from the square stored crop detect keeps for every model."""

import cv2
import numpy as np
import pytest

from tfdeepfake.data.crops import normalise, preset_images, stretch_crops
from tfdeepfake.faces.crop import crop_face
from tfdeepfake.inference.inputs import centre_crops, model_inputs
from tfdeepfake.models import get_preset
from tfdeepfake.weights.sources import get_source

BOX = [70.0, 40.0, 130.0, 140.0]  # 60 x 100: a tall face box


def _frame():
    """A smooth image (so interpolation differences stay small) that differs off the box."""
    y, x = np.mgrid[0:200, 0:240].astype(np.float32)
    return np.stack([x, y, (x + y) / 2], -1).clip(0, 255).astype(np.uint8)


def _stored(frame, margin=0.5, size=160):
    crop, _ = crop_face(frame, BOX, margin=margin, size=size)
    return crop[None]


def test_stretch_cuts_the_box_itself_and_stretches_it():
    frame = _frame()
    want = cv2.resize(frame[40:140, 70:130], (32, 32), interpolation=cv2.INTER_AREA)
    got = np.asarray(stretch_crops(_stored(frame), 0.5, [BOX], 0.0, 32))[0]
    assert np.abs(got - want.astype(np.float32)).mean() < 2.0
    # The square crop the other presets take is 100 px wide, not 60: along x (channel 0 is
    # the x coordinate) it differs by ~10 levels on average.
    square = cv2.resize(np.asarray(_stored(frame, margin=0.0))[0], (32, 32))
    assert np.abs(square[..., 0].astype(np.float32) - want[..., 0]).mean() > 7.0


def test_imported_resnext_lstm_contract_and_detect_inputs():
    source = get_source("resnext-lstm")
    preset = get_preset("resnet_lstm_tiny").with_overrides(**source.overrides)
    assert (preset.crop_mode, preset.face_margin) == ("stretch", 0.0)
    crops = _stored(_frame())
    got = model_inputs(crops, 0.5, preset, boxes=[BOX])
    want = np.asarray(normalise(stretch_crops(crops, 0.5, [BOX], 0.0, preset.input_size), preset))
    np.testing.assert_allclose(got, want, atol=1e-6)
    lite = centre_crops(crops, 0.5, preset, boxes=[BOX])  # the LiteRT path: uint8, stored size
    assert lite.dtype == np.uint8 and lite.shape == crops.shape
    with pytest.raises(ValueError, match="pass boxes=\\(N, 4\\)"):
        preset_images(crops, 0.5, preset)
