"""Inputs of the reliability tests: a hostile file name and a face detector that needs no
model (one fixed box per frame), so extraction runs in milliseconds."""

import numpy as np

from tfdeepfake.faces.finder import FaceFinder, FrameFaces

# A file name that is not valid UTF-8 (Latin-1 "café"), as Python lists it.
LATIN1_NAME = b"caf\xe9.mp4".decode("utf-8", "surrogateescape")


class FixedFaceFinder(FaceFinder):
    """One face in the middle of every frame."""

    def detect(self, frames):
        out = []
        for frame in frames:
            h, w = frame.shape[:2]
            box = np.array([[w * 0.25, h * 0.25, w * 0.75, h * 0.75]], np.float32)
            marks = np.tile(box[:, None, :2] + (box[:, None, 2:] - box[:, None, :2]) / 2, (1, 5, 1))
            out.append(FrameFaces(box, np.ones(1, np.float32), marks.astype(np.float32)))
        return out
