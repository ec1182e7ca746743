"""Limits on what one input may cost: frames planned, pixels per frame, decoding time."""

import tracemalloc

import pytest

from tfdeepfake.faces.errors import ExtractionError
from tfdeepfake.faces.video import MAX_FRAMES, plan_indices, read_video


@pytest.mark.parametrize("sampling", ["stride", "even", "first"])
def test_a_huge_claimed_frame_count_plans_a_bounded_list(sampling):
    tracemalloc.start()
    try:
        for total in (10**6, 2**31):  # a container may claim any count
            plan = plan_indices(total, None, sampling, stride=3)
            assert 0 < len(plan) <= MAX_FRAMES and plan[-1] < total
            # bytes: nothing frame-count sized was built (checked before the next, bigger one)
            assert tracemalloc.get_traced_memory()[1] < 2 * 2**20
    finally:
        tracemalloc.stop()


def test_stride_plan_keeps_its_meaning():
    assert plan_indices(10, None, "stride", stride=3) == [0, 3, 6, 9]
    assert plan_indices(100, 2, "stride", stride=5) == [0, 5]
    assert plan_indices(100, None, "stride", stride=1, max_frames=3) == [0, 1, 2]


def test_frames_over_max_pixels_are_refused_before_decoding(small_video):
    with pytest.raises(ExtractionError) as err:
        read_video(small_video, frames=4, max_pixels=64 * 48 - 1)
    assert err.value.reason == "too_large" and "--max-pixels" in str(err.value)
    assert read_video(small_video, frames=4, max_pixels=64 * 48).frames.shape[0] == 4


def test_decoding_stops_at_the_time_limit(small_video, monkeypatch):
    import tfdeepfake.faces.video as video

    clock = iter(range(0, 10**6, 100))  # every look at the clock: 100 s later
    monkeypatch.setattr(video.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(video, "_TIME_CHECK_EVERY", 1)
    with pytest.raises(ExtractionError) as err:
        read_video(small_video, frames=4, time_limit=150)
    assert err.value.reason == "timeout" and "--time-limit" in str(err.value)
