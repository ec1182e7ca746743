"""Tracking: every detection lands in one track, people stay apart, misses are bridged."""

import numpy as np

from tfdeepfake.faces import FrameFaces, box_iou, track_faces


def _faces(*boxes):
    if not boxes:
        return FrameFaces.empty()
    boxes = np.asarray(boxes, np.float32)
    return FrameFaces(
        boxes, np.full(len(boxes), 0.99, np.float32), np.zeros((len(boxes), 5, 2), np.float32)
    )


def test_box_iou():
    iou = box_iou([[0, 0, 10, 10]], [[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])
    np.testing.assert_allclose(iou, [[1.0, 1 / 3, 0.0]])


def test_two_people_and_a_miss():
    big, small = [100, 100, 200, 220], [400, 50, 450, 110]
    shift = np.array([8, 4, 8, 4])
    detections = [
        _faces(big, small),
        _faces(np.add(big, shift), np.add(small, shift)),
        _faces(np.add(big, 2 * shift)),  # the small face is missed here
        _faces(np.add(small, 3 * shift), np.add(big, 3 * shift)),  # order swapped
        _faces(),
    ]
    tracks = track_faces(detections)
    assert [len(t) for t in tracks] == [4, 3]
    assert tracks[0].positions.tolist() == [0, 1, 2, 3]
    assert tracks[1].positions.tolist() == [0, 1, 3]
    np.testing.assert_allclose(tracks[0].boxes[3], np.add(big, 3 * shift))
    np.testing.assert_allclose(tracks[1].boxes[2], np.add(small, 3 * shift))


def test_a_face_that_jumps_starts_a_new_track():
    tracks = track_faces([_faces([0, 0, 50, 50]), _faces([300, 300, 350, 350])])
    assert len(tracks) == 2 and sum(len(t) for t in tracks) == 2
