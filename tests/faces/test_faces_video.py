"""Decoding: sampling plans, true frame counts, rotation, shrinking, typed errors."""

import numpy as np
import pytest
from faces_media import (
    bad_corpus,
    frame_number,
    lying_avi,
    numbered_frames,
    rotate_mp4,
    write_sound_only_mp4,
    write_video,
)

from tfdeepfake.faces import ExtractionError, plan_indices, read_frames_at, read_video


def test_plan_indices():
    assert plan_indices(100, 5) == [0, 25, 50, 74, 99]
    assert plan_indices(3, 32) == [0, 1, 2]
    assert plan_indices(100, 4, "first") == [0, 1, 2, 3]
    assert plan_indices(20, 3, "stride", stride=5) == [0, 5, 10]
    assert plan_indices(20, None, "stride", stride=5) == [0, 5, 10, 15]
    with pytest.raises(ValueError, match="sampling"):
        plan_indices(10, 2, "random")


@pytest.mark.parametrize(
    "sampling,stride,expected",
    [("even", 1, [0, 10, 19, 29]), ("first", 1, [0, 1, 2, 3]), ("stride", 7, [0, 7, 14, 21])],
)
def test_read_video_samples_the_planned_frames(tmp_path, sampling, stride, expected):
    path = write_video(tmp_path / "n.mp4", numbered_frames(30))
    video = read_video(path, frames=4, sampling=sampling, stride=stride)
    assert video.indices.tolist() == expected
    assert [frame_number(f) for f in video.frames] == expected
    assert video.frames.dtype == np.uint8 and video.frames.shape == (4, 48, 64, 3)
    assert video.frame_count == 30 and video.fps == pytest.approx(25.0)
    assert video.duration == pytest.approx(1.2)


def test_lying_frame_count_uses_decodable_frames(tmp_path):
    path = lying_avi(tmp_path / "lying.avi", 40)
    video = read_video(path, frames=5)
    assert video.claimed_frame_count == 40
    assert 5 < video.frame_count < 40
    assert video.indices[-1] == video.frame_count - 1  # spread over what really decodes
    assert [frame_number(f) for f in video.frames] == video.indices.tolist()


def test_rotation_is_applied(tmp_path):
    frames = []
    for _ in range(3):
        frame = np.zeros((32, 64, 3), np.uint8)
        frame[:, :16] = 255  # a white strip on the left
        frames.append(frame)
    path = rotate_mp4(write_video(tmp_path / "r.mp4", frames), tmp_path / "rotated.mp4")
    video = read_video(path, frames=2)
    assert video.rotation == 90
    assert video.frames.shape[1:3] == (64, 32) and video.frame_size == (64, 32)
    assert video.frames[0, :12].mean() > 200 and video.frames[0, 20:].mean() < 30


def test_max_side_shrinks_and_records_scale(tmp_path):
    path = write_video(tmp_path / "big.mp4", numbered_frames(3, size=(120, 160)))
    video = read_video(path, frames=2, max_side=80)
    assert video.frames.shape[1:3] == (60, 80)
    assert video.frame_size == (120, 160) and video.scale == pytest.approx(0.5)


def test_read_frames_at(tmp_path):
    path = write_video(tmp_path / "n.mp4", numbered_frames(12))
    video = read_frames_at(path, [3, 7, 50])
    assert video.indices.tolist() == [3, 7]
    assert [frame_number(f) for f in video.frames] == [3, 7]


def test_bad_inputs_raise_typed_errors(tmp_path):
    corpus = bad_corpus(tmp_path)
    for name, (path, reason) in corpus.items():
        if reason == "no_face":
            continue
        with pytest.raises(ExtractionError) as info:
            read_video(path, frames=4, min_frames=2)
        assert info.value.reason == reason, name
        assert str(path) in str(info.value)
    with pytest.raises(ExtractionError) as info:
        read_video(write_sound_only_mp4(tmp_path / "voice.m4a"))
    assert info.value.reason == "audio_only"
    with pytest.raises(ExtractionError, match="folder") as info:
        read_video(tmp_path)
    assert info.value.reason == "folder"  # it holds videos: pass one of them


def test_variable_frame_rate_keeps_the_real_time_of_each_frame(tmp_path):
    """Phones record a variable frame rate: frame k is not at k / average fps."""
    import subprocess

    import imageio_ffmpeg

    from tfdeepfake.inference.report import constant_rate_order

    source = write_video(tmp_path / "cfr.mp4", numbered_frames(20), fps=30.0)
    vfr = tmp_path / "vfr.mp4"
    subprocess.run(  # frames 0-9 a 30th of a second apart, then 4 times further apart
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(source), "-vf",
         "setpts='if(lt(N,10),N,10+(N-10)*4)/30/TB'", "-fps_mode", "passthrough",
         "-c:v", "libx264", str(vfr)], check=True)
    video = read_video(vfr, frames=None)
    assert video.frame_count == 20
    expected = [i / 30 if i < 10 else (10 + (i - 10) * 4) / 30 for i in range(20)]
    np.testing.assert_allclose(video.times, expected, atol=2e-3)
    np.testing.assert_allclose(video.seconds([11]), [14 / 30], atol=2e-3)
    assert video.seconds([11])[0] < 11 / video.fps - 0.2  # not index / average fps

    order = constant_rate_order(video.times, 30.0, len(video.times))
    assert len(order) == 47 and order[:11] == list(range(11))
    assert order[10:14] == [10, 10, 10, 10]  # the slow frames are held, as on screen

    cfr = read_video(source, frames=None)
    assert constant_rate_order(cfr.times, 30.0, 20) == list(range(20))
