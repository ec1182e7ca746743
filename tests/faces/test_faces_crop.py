"""Cropping: square/pad geometry, landmarks mapped into crop pixels, black outside the frame."""

import cv2
import numpy as np
import pytest

from tfdeepfake.faces import crop_face, crop_region


def _dot_frame(height, width, points, radius):
    frame = np.zeros((height, width, 3), np.uint8)
    for x, y in points:
        cv2.circle(frame, (int(round(x)), int(round(y))), radius, (255, 255, 255), -1)
    return frame


def test_crop_region_square_and_pad():
    np.testing.assert_allclose(crop_region([10, 20, 30, 60], 0.5), [-20, 0, 60, 80])
    np.testing.assert_allclose(crop_region([10, 20, 30, 60], 0.25, "pad"), [5, 10, 35, 70])
    with pytest.raises(ValueError, match="x1 > x0"):
        crop_region([30, 20, 10, 60], 0.5)
    with pytest.raises(ValueError, match="mode"):
        crop_region([0, 0, 1, 1], 0.5, "stretch")


@pytest.mark.parametrize("box,size", [([200, 100, 400, 340], 64), ([40, 30, 60, 54], 128)])
def test_landmarks_land_where_the_pixels_went(box, size):
    # Shrinking (big face -> 64) and enlarging (small face -> 128) take different paths.
    x0, y0, x1, y1 = box
    points = np.array(
        [
            [x0 + 0.3 * (x1 - x0), y0 + 0.4 * (y1 - y0)],
            [x0 + 0.7 * (x1 - x0), y0 + 0.75 * (y1 - y0)],
        ]
    )
    points = np.round(points)
    frame = _dot_frame(480, 640, points, radius=max(2, (x1 - x0) // 20))
    crop, mapped = crop_face(frame, box, margin=0.3, size=size, landmarks=points)
    assert crop.shape == (size, size, 3) and crop.dtype == np.uint8
    for x, y in mapped:  # the dot's centroid in the crop is where the landmark was mapped
        x0w, y0w = int(x) - 6, int(y) - 6
        window = crop[y0w : y0w + 13, x0w : x0w + 13, 0].astype(float)
        ys, xs = np.mgrid[0:13, 0:13]
        centroid = [
            (xs * window).sum() / window.sum() + x0w,
            (ys * window).sum() / window.sum() + y0w,
        ]
        np.testing.assert_allclose(centroid, [x, y], atol=0.75)
    # The box centre goes to the crop centre.
    centre = np.array([[(x0 + x1) / 2, (y0 + y1) / 2]])
    _, c = crop_face(frame, box, margin=0.3, size=size, landmarks=centre)
    np.testing.assert_allclose(c[0], [size / 2, size / 2], atol=0.51)


def test_square_crop_outside_the_frame_is_black():
    frame = np.full((100, 100, 3), 200, np.uint8)
    crop, _ = crop_face(frame, [0, 0, 40, 40], margin=0.5, size=80)
    assert crop[:15, :15].max() == 0  # above-left of the frame
    assert crop[50:70, 50:70].min() == 200


def test_pad_mode_keeps_aspect_and_pads_black():
    frame = np.full((200, 200, 3), 120, np.uint8)
    crop, pts = crop_face(
        frame,
        [80, 50, 120, 150],
        margin=0.0,
        size=100,
        mode="pad",
        landmarks=[[80, 50], [120, 150]],
    )
    # A 40x100 box becomes 40x100 inside a 100x100 canvas: bars of 30 px on each side.
    assert crop[:, :29].max() == 0 and crop[:, 71:].max() == 0
    assert crop[:, 31:69].min() == 120
    np.testing.assert_allclose(pts, [[30, 0], [70, 100]], atol=1e-4)


def test_stored_crop_size_keeps_every_preset_at_full_resolution():
    from tfdeepfake import get_preset
    from tfdeepfake.faces.crop import STORED_MARGIN, stored_crop_size
    from tfrecords_tools.schema import recrop_fraction

    for name in ("autoatt_b4", "b7_ssim", "resnet_lstm"):
        preset = get_preset(name)
        side = stored_crop_size(preset)
        window = side * recrop_fraction(STORED_MARGIN, preset.face_margin)
        assert window >= preset.input_size - 1e-6 and window - 1 < preset.input_size
    # whole-number sides are not pushed up a pixel by float rounding: the window is then exactly
    # the input size, which the training pipeline cuts out instead of resampling
    assert [stored_crop_size(get_preset(n)) for n in ("autoatt_b4", "b7_ssim")] == [320, 456]


def test_crop_size_for_takes_the_largest_need_and_expands_ensembles():
    from tfdeepfake import get_preset
    from tfdeepfake.faces.crop import crop_size_for

    def side(*names, margin=0.5):
        return crop_size_for([get_preset(n) for n in names], margin)

    assert side("resnet_lstm") == 160 and side("resnet_lstm", "autoatt_b4") == 320
    assert side("ensemble") == side("b7_ssim") == 456  # its members, not its own 224 px entry
    assert side("ensemble_tiny") == side("b7_ssim_tiny")
    assert side("autoatt_b4", margin=0.2) == 224  # the stored margin is the model's: no re-crop
    with pytest.raises(ValueError, match="at least one model preset"):
        crop_size_for([])
