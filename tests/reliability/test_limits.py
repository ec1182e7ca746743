"""Limits on what one input may cost: frames planned, pixels per frame, time (decoding,
face detection and scoring together)."""

import time
import tracemalloc

import pytest
from reliability_media import FixedFaceFinder

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
    import tfdeepfake.faces.deadline as deadline
    import tfdeepfake.faces.video as video

    clock = iter(range(0, 10**6, 100))  # every look at the clock: 100 s later
    monkeypatch.setattr(deadline.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(video, "_TIME_CHECK_EVERY", 1)
    with pytest.raises(ExtractionError) as err:
        read_video(small_video, frames=4, time_limit=150)
    assert err.value.reason == "timeout" and "--time-limit" in str(err.value)


class _SlowFaces(FixedFaceFinder):
    """The fixed face finder, 0.3 s per call (a slow finder, or one on huge frames)."""

    def detect(self, frames):
        time.sleep(0.3)
        return super().detect(frames)


def test_face_detection_counts_against_the_time_limit(small_video, monkeypatch):
    import tfdeepfake.faces.extraction as extraction
    from tfdeepfake.faces.dataset import ExtractOptions, process_video
    from tfdeepfake.faces.labels import LabelledVideo

    monkeypatch.setattr(extraction, "FIND_CHUNK", 1)  # the clock is read between calls
    item = LabelledVideo(small_video, 0, "clip", "")
    options = ExtractOptions(frames=4, crop_size=16, time_limit=0.5)
    records, failures = process_video(item, options, _SlowFaces())
    assert records is None and [f.reason for f in failures] == ["timeout"]
    assert "face detection" in failures[0].message and "--time-limit" in failures[0].message
    records, failures = process_video(item, ExtractOptions(frames=4, crop_size=16), _SlowFaces())
    assert len(records) == 1 and failures == []  # the default limit (600 s) lets it through


def test_scoring_counts_against_the_time_limit(tiny_runs, small_video, monkeypatch):
    from tfdeepfake.inference import Detector

    detector = Detector(models=["autoatt_b4_tiny"], weights=tiny_runs, frames=8, batch_size=1,
                        streams=1, face_finder=FixedFaceFinder(), time_limit=1.0)
    scorer = detector.models[0].members[0]
    real = scorer.compiled  # the compiled forward every scoring batch goes through

    def slow(pixels, fraction):  # 8 batches of 0.4 s: past the limit at the 4th
        time.sleep(0.4)
        return real(pixels, fraction)

    monkeypatch.setattr(scorer, "compiled", slow)
    first, second = detector.predict([small_video, small_video])  # the batch carries on
    for result in (first, second):
        assert result.verdict == "ERROR" and result.error.startswith("timeout:"), result.error
        assert "scoring with autoatt_b4_tiny" in result.error
    monkeypatch.setattr(scorer, "compiled", real)
    detector.time_limit = 600.0  # the default: the same input is scored
    result = detector.predict_video(small_video)
    assert result.verdict in ("REAL", "FAKE"), result.error
