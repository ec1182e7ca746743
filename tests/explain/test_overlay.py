"""Colouring, pasting heatmaps into frames, and the heatmap MP4."""

import cv2
import numpy as np
import pytest

from tfdeepfake.explain import colorize, face_region, overlay_on_frame, write_heatmap_video
from tfdeepfake.explain.overlay import interpolate_track


def test_colorize_is_jet_rgb():
    h = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    rgb = colorize(h)
    assert rgb.shape == (8, 8, 3) and rgb.dtype == np.uint8
    assert rgb[0, 0, 2] > 100 and rgb[0, 0, 0] < 50  # low = blue (RGB order)
    assert rgb[-1, -1, 0] > 100 and rgb[-1, -1, 2] < 50  # high = red
    assert colorize(h[..., None]).shape == (8, 8, 3)
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        colorize(np.zeros((2, 2, 3)))


def test_face_region_is_square_with_margin():
    assert face_region([10, 20, 30, 60], 0.25) == (-10.0, 10.0, 50.0, 70.0)


def test_overlay_changes_only_the_region():
    frame = np.full((40, 60, 3), 100, np.uint8)
    out = overlay_on_frame(frame, (10, 5, 30, 25), np.ones((8, 8)), alpha=0.5)
    assert out.shape == frame.shape and out.dtype == np.uint8
    assert np.array_equal(frame, np.full((40, 60, 3), 100, np.uint8))  # input untouched
    changed = np.any(out != frame, axis=-1)
    assert changed[5:25, 10:30].all() and changed.sum() == 20 * 20
    # Hot map at alpha 0.5: JET's top colour is dark red (128, 0, 0) -> (114, 50, 50).
    assert out[15, 20].tolist() == [114, 50, 50]


def test_overlay_region_partly_outside_frame():
    frame = np.zeros((20, 20, 3), np.uint8)
    out = overlay_on_frame(frame, (-10, -10, 10, 10), np.ones((4, 4)), alpha=1.0)
    assert np.any(out[:10, :10] != 0, axis=-1).all() and not out[10:, :].any()
    assert np.array_equal(overlay_on_frame(frame, (30, 30, 40, 40), np.ones((2, 2))), frame)
    with pytest.raises(ValueError, match="x1 > x0"):
        overlay_on_frame(frame, (10, 10, 5, 20), np.ones((2, 2)))
    with pytest.raises(ValueError, match="RGB uint8"):
        overlay_on_frame(frame.astype(np.float32), (0, 0, 5, 5), np.ones((2, 2)))


def test_heatmap_video_has_input_size_and_frame_count(tmp_path):
    h, w, n = 72, 96, 7
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 2, yy * 2, np.full_like(xx, 128)], axis=-1)
    frames = [(base + 10 * i).clip(0, 255).astype(np.uint8) for i in range(n)]  # smooth
    boxes = [
        [(20, 10, 60, 50)],
        None,
        [(0, 0, 30, 30), (50, 30, 90, 70)],
        (5, 5, 25, 25),
        [],
        [(20, 10, 60, 50)],
        [(20, 10, 60, 50)],
    ]
    maps = [
        [rng.random((16, 16))],
        None,
        [rng.random((8, 8)), rng.random((8, 8))],
        rng.random((4, 4)),
        [],
        [np.ones((4, 4))],
        [np.zeros((4, 4))],
    ]
    path = write_heatmap_video(frames, boxes, maps, 10.0, tmp_path / "out" / "v.mp4")
    cap = cv2.VideoCapture(str(path))
    got = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        got.append(frame[..., ::-1])
    cap.release()
    assert len(got) == n
    assert all(f.shape == (h, w, 3) for f in got)
    # Frame 1 has no face: it is the input (up to MPEG-4 compression error).
    assert np.abs(got[1].astype(int) - frames[1]).mean() < 8
    # Frame 5's face is tinted red by the all-ones map, frame 6's blue by the all-zeros map.
    red = got[5][15:45, 25:55].astype(int).mean(axis=(0, 1))
    source = frames[5][15:45, 25:55].astype(int).mean(axis=(0, 1))
    assert source[2] > source[0] + 30 and red[0] > red[2] + 10
    blue = got[6][15:45, 25:55].astype(int).mean(axis=(0, 1))
    assert blue[2] > blue[0] + 60


def test_heatmap_video_bad_input(tmp_path):
    frames = [np.zeros((32, 32, 3), np.uint8)] * 2
    with pytest.raises(ValueError, match="boxes_per_frame has 1 entries but there are 2"):
        write_heatmap_video(frames, [None], [None, None], 10, tmp_path / "a.mp4")
    with pytest.raises(ValueError, match="fps must be positive"):
        write_heatmap_video(frames, [None] * 2, [None] * 2, 0, tmp_path / "a.mp4")
    with pytest.raises(ValueError, match="frame 1 is 16x16"):
        bad = [frames[0], np.zeros((16, 16, 3), np.uint8)]
        write_heatmap_video(bad, [None] * 2, [None] * 2, 10, tmp_path / "b.mp4")
    with pytest.raises(ValueError, match="frame 0: 1 boxes but 2 heatmaps"):
        two = [[np.ones((2, 2)), np.ones((2, 2))], None]
        write_heatmap_video(frames, [[(0, 0, 8, 8)], None], two, 10, tmp_path / "c.mp4")


def test_heatmap_video_is_h264_that_browsers_play(tmp_path):
    import imageio_ffmpeg

    frames = [np.full((33, 47, 3), 40 * i, np.uint8) for i in range(5)]  # odd sizes
    path = write_heatmap_video(frames, [None] * 5, [None] * 5, 12.5, tmp_path / "v.mp4")
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    reader.close()
    assert meta["codec"].startswith("h264") and meta["fps"] == 12.5
    assert tuple(meta["size"]) == (46, 32)  # yuv420p: the odd last row/column trimmed


def test_interpolate_track_moves_the_box_and_fades_the_map():
    boxes = [[0, 0, 10, 10], [10, 20, 30, 40]]
    maps = [np.zeros((2, 2)), np.ones((2, 2))]
    carried = interpolate_track([4, 8], boxes, maps, range(12))
    assert sorted(carried) == [4, 5, 6, 7, 8]  # only within the track's span
    box, heat = carried[6]
    np.testing.assert_allclose(box, [5, 10, 20, 25])
    np.testing.assert_allclose(heat, 0.5)
    np.testing.assert_allclose(carried[8][0], boxes[1])
    with pytest.raises(ValueError, match="must increase"):
        interpolate_track([8, 4], boxes, maps, range(12))
    with pytest.raises(ValueError, match="as many boxes"):
        interpolate_track([4], boxes, maps, range(12))
