"""Fixtures of the reliability tests: small videos made here and a face detector that needs
no model (one fixed box per frame), so extraction runs in milliseconds."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "faces"))  # the shared media helpers

from faces_media import numbered_frames, write_video  # noqa: E402

from tfdeepfake.faces.detector import FaceDetector, FrameFaces  # noqa: E402

# A file name that is not valid UTF-8 (Latin-1 "café"), as Python lists it.
LATIN1_NAME = b"caf\xe9.mp4".decode("utf-8", "surrogateescape")


class FixedFaceDetector(FaceDetector):
    """One face in the middle of every frame."""

    def detect(self, frames):
        out = []
        for frame in frames:
            h, w = frame.shape[:2]
            box = np.array([[w * 0.25, h * 0.25, w * 0.75, h * 0.75]], np.float32)
            marks = np.tile(box[:, None, :2] + (box[:, None, 2:] - box[:, None, :2]) / 2, (1, 5, 1))
            out.append(FrameFaces(box, np.ones(1, np.float32), marks.astype(np.float32)))
        return out


@pytest.fixture
def face_detector():
    return FixedFaceDetector()


@pytest.fixture(scope="session")
def small_video(tmp_path_factory) -> Path:
    """A 12-frame 48x64 mp4."""
    return write_video(tmp_path_factory.mktemp("media") / "clip.mp4", numbered_frames(12))
