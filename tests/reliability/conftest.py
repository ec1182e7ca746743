"""Fixtures of the reliability tests: small videos made here and a model-free face detector."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "faces"))  # the shared media helpers

from faces_media import numbered_frames, write_video  # noqa: E402
from reliability_media import FixedFaceFinder  # noqa: E402


@pytest.fixture
def face_finder():
    return FixedFaceFinder()


@pytest.fixture(scope="session")
def small_video(tmp_path_factory) -> Path:
    """A 12-frame 48x64 mp4."""
    return write_video(tmp_path_factory.mktemp("media") / "clip.mp4", numbered_frames(12))
