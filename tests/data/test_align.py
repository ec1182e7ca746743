"""5-point alignment (GenD's crop_mode="aligned"): the fit equals OpenCV's, the warp equals
cv2.warpAffine, and training and inference produce the same aligned input."""

import cv2
import numpy as np
import pytest
import tensorflow as tf

from tfdeepfake.data import frame_dataset, preset_images
from tfdeepfake.data.align import (
    ALIGN_TEMPLATE,
    align_faces,
    align_landmarks,
    similarity_to_template,
    template_points,
    warp_similarity,
)
from tfdeepfake.models import get_preset
from tfrecords_tools.schema import decode_track

GEND = get_preset("gend_clip_tiny")


def _face_points(angle=0.3, scale=0.7, shift=(20.0, 12.0), side=100.0):
    """Landmarks of a face rotated, scaled and shifted away from the template."""
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return (np.asarray(ALIGN_TEMPLATE) * side) @ rotation.T + np.asarray(shift)


def test_fit_matches_opencv_and_lands_on_the_template():
    src = _face_points().astype(np.float32)
    side = 256
    params = similarity_to_template(src[None].reshape(1, 10), side).numpy()[0]
    dst = template_points(side).numpy()
    matrix, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.LMEDS)
    a, b, tx, ty = params
    np.testing.assert_allclose([[a, -b, tx], [b, a, ty]], matrix, atol=1e-3)
    # GenD's template with scale 1.3: the eyes at (0.34 + 0.15) / 1.3 of the side.
    assert dst[0, 0] == pytest.approx(256 * 0.49 / 1.3)
    landed = align_landmarks(src.reshape(1, 10), 32).numpy().reshape(5, 2)
    np.testing.assert_allclose(landed, template_points(32).numpy(), atol=1e-3)


def test_warp_equals_cv2_warp_affine():
    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(rng.uniform(0, 255, (96, 96, 3)).astype(np.float32), (7, 7), 2)
    params = similarity_to_template(_face_points().reshape(1, 10), 80).numpy()
    a, b, tx, ty = params[0]
    expected = cv2.warpAffine(image, np.array([[a, -b, tx], [b, a, ty]]), (80, 80),
                              flags=cv2.INTER_LINEAR, borderValue=0)
    got = warp_similarity(image[None], params, 80).numpy()[0]
    inside = (expected > 0).all(-1)  # away from the black border, where edge rules differ
    inside[:2], inside[-2:], inside[:, :2], inside[:, -2:] = False, False, False, False
    assert inside.mean() > 0.3
    assert np.abs(got - expected)[inside].max() < 0.05


def test_aligned_preset_needs_landmarks_and_aligns():
    crops = np.random.default_rng(1).integers(0, 256, (2, 64, 64, 3), np.uint8)
    with pytest.raises(ValueError, match="landmarks=\\(N, 10\\)"):
        preset_images(crops, 0.5, GEND)
    points = np.tile(_face_points(0.1, 0.5, (10, 8)).reshape(1, 10), (2, 1))
    got = preset_images(crops, 0.5, GEND, landmarks=points).numpy()
    mean, std = np.asarray(GEND.mean), np.asarray(GEND.std)
    expected = (align_faces(crops, points, 32).numpy() / 255 - mean) / std
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert got.shape == (2, 32, 32, 3)


def test_training_crop_equals_inference_crop(shards):
    tracks = {}
    for path in sorted(shards.glob("*.tfrecord")):
        for raw in tf.data.TFRecordDataset(str(path)):
            t = decode_track(raw.numpy())
            tracks[t.video_id] = t
    batch = next(iter(frame_dataset(shards, GEND, batch_size=8, training=False, with_ids=True)))
    for i in range(4):
        t = tracks[batch["video_id"][i].numpy().decode()]
        k = list(t.frame_index).index(int(batch["frame_index"][i]))
        expected = preset_images(t.crops[k : k + 1], 0.5, GEND, landmarks=t.landmarks[k : k + 1])
        np.testing.assert_allclose(batch["images"][i].numpy(), expected.numpy()[0], atol=1e-3)
