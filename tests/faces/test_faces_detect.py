"""MTCNN behind the detector interface, and extract_faces on real sample videos."""

import cv2
import numpy as np
import pytest
from faces_media import upscale_video

from tfdeepfake.faces import ExtractionError, MTCNNFaceFinder, box_iou, extract_faces


def test_mtcnn_finds_the_five_faces(mtcnn, sample_media):
    bgr = cv2.imread(str(sample_media["multi_face.jpg"]))
    faces = mtcnn.detect(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)[None])[0]
    assert len(faces) >= 4 and faces.scores.min() >= 0.9
    assert faces.landmarks.shape == (len(faces), 5, 2)
    x0, y0, x1, y1 = faces.boxes.T
    eyes_y, mouth_y = faces.landmarks[:, :2, 1].mean(1), faces.landmarks[:, 3:, 1].mean(1)
    assert np.all((eyes_y > y0) & (eyes_y < mouth_y) & (mouth_y < y1))
    nose_x = faces.landmarks[:, 2, 0]
    assert np.all((nose_x > x0) & (nose_x < x1))


def test_downscaled_detection_maps_boxes_back(mtcnn):
    from skimage import data

    image = data.astronaut()[None]
    full = MTCNNFaceFinder(max_side=512).detect(image)[0]
    half = MTCNNFaceFinder(max_side=256).detect(image)[0]
    assert len(full) == len(half) == 1
    assert box_iou(full.boxes, half.boxes)[0, 0] > 0.8
    np.testing.assert_allclose(full.landmarks, half.landmarks, atol=6)


def test_extract_faces_on_a_real_video(mtcnn, sample_media):
    faces = extract_faces(sample_media["carphone_pristine.mp4"], frames=6, crop_size=64)
    assert faces.frame_count == 120 and faces.frame_size == (144, 176)
    assert faces.video_id == "carphone_pristine" and len(faces.tracks) >= 1
    track = faces.tracks[0]
    assert len(track) == 6 and track.crops.shape == (6, 64, 64, 3)
    assert track.frame_index.tolist() == faces.sampled_indices.tolist()
    assert np.all((track.landmarks > 8) & (track.landmarks < 56))  # inside the crop
    assert np.all(track.boxes[:, [0, 1]] >= 0) and np.all(track.boxes[:, 2] <= 176)
    assert track.scores.min() >= 0.9


def test_4k_video_is_extracted_in_source_pixels(mtcnn, sample_media, tmp_path):
    path = upscale_video(
        sample_media["carphone_pristine.mp4"], tmp_path / "4k.mp4", (3840, 2160), 3
    )
    faces = extract_faces(path, frames=2, crop_size=64)
    assert faces.frame_size == (2160, 3840)
    box = faces.tracks[0].boxes[0]
    assert 3840 / 176 * 20 < box[2] - box[0] < 3840 and box[3] <= 2160


def test_no_face_video_raises_no_face(mtcnn, sample_media):
    with pytest.raises(ExtractionError) as info:
        extract_faces(sample_media["no_face.mp4"], frames=3)
    assert info.value.reason == "no_face"


def test_mtcnn_streams_find_the_same_faces_as_one_stream(sample_media):
    capture = cv2.VideoCapture(str(sample_media["single_face.mp4"]))
    frames = [cv2.cvtColor(capture.read()[1], cv2.COLOR_BGR2RGB) for _ in range(6)]
    capture.release()
    one = MTCNNFaceFinder(streams=1, batch_size=2).detect(frames)
    two = MTCNNFaceFinder(streams=2, batch_size=2).detect(frames)
    assert len(one) == len(two) == 6
    for a, b in zip(one, two):
        assert len(a) == len(b) >= 1
        np.testing.assert_allclose(a.boxes, b.boxes, atol=1e-3)
    with pytest.raises(ValueError, match="streams"):
        MTCNNFaceFinder(streams=0)
