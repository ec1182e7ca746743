"""Face detection behind a small interface: frames in, boxes + scores + 5 landmarks out.

``MTCNNFaceFinder`` (the ``mtcnn`` package, weights inside its wheel, TensorFlow only) detects
on frames shrunk so the long side is ``max_side`` (as the DFDC winner does) and maps the
boxes back to the frames' pixels. Another finder plugs in by subclassing ``FaceFinder``.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
from collections.abc import Sequence

import cv2
import numpy as np

LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")


@dataclasses.dataclass
class FrameFaces:
    """Faces found in one frame, in that frame's pixels.

    Attributes:
        boxes: (n, 4) float32 ``[x0, y0, x1, y1]``.
        scores: (n,) float32 detection confidence in [0, 1].
        landmarks: (n, 5, 2) float32 (x, y) in ``LANDMARK_NAMES`` order.
    """

    boxes: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray

    def __len__(self) -> int:
        return len(self.boxes)

    @classmethod
    def empty(cls) -> FrameFaces:
        return cls(
            np.zeros((0, 4), np.float32),
            np.zeros((0,), np.float32),
            np.zeros((0, 5, 2), np.float32),
        )


class FaceFinder(abc.ABC):
    """Detects faces in a batch of RGB uint8 frames (all of one size)."""

    @abc.abstractmethod
    def detect(self, frames: np.ndarray | Sequence[np.ndarray]) -> list[FrameFaces]:
        """One ``FrameFaces`` per frame, in order."""


class MTCNNFaceFinder(FaceFinder):
    """MTCNN (mtcnn package) on downscaled frames, batched.

    Args:
        max_side: shrink each frame so its long side is at most this before detecting.
        scale: a fixed shrink factor instead (overrides ``max_side``), e.g. 0.5.
        min_score: drop faces the network is less sure of than this.
        batch_size: frames per MTCNN call.
        device: TensorFlow device to run on.
        streams: MTCNN calls run at once on threads (its pyramid of small convolutions
            keeps one call from filling two cores: two streams take 0.73x the time of one
            on 2 cores); 1 = one after another.

    Faces smaller than about 20 pixels of the downscaled frame are not found.

    Example::

        faces = MTCNNFaceFinder().detect(video.frames)
        faces[0].boxes  # (n, 4) in the frame's pixels
    """

    def __init__(
        self,
        max_side: int = 640,
        scale: float | None = None,
        min_score: float = 0.9,
        batch_size: int = 16,
        device: str = "CPU:0",
        streams: int = 2,
    ):
        if scale is not None and not 0 < scale <= 1:
            raise ValueError(f"scale must be in (0, 1], got {scale}.")
        if max_side < 32:
            raise ValueError(f"max_side must be >= 32 pixels, got {max_side}.")
        self.max_side = max_side
        self.scale = scale
        self.min_score = min_score
        if streams < 1:
            raise ValueError(f"streams must be >= 1, got {streams}.")
        self.batch_size = batch_size
        self.streams = streams
        self._model = _mtcnn(device)

    def factor(self, height: int, width: int) -> float:
        """Shrink factor applied to a frame of this size before detection."""
        if self.scale is not None:
            return self.scale
        return min(1.0, self.max_side / max(height, width))

    def detect(self, frames: np.ndarray | Sequence[np.ndarray]) -> list[FrameFaces]:
        frames = list(frames)
        if not frames:
            return []
        height, width = frames[0].shape[:2]
        factor = self.factor(height, width)
        small = [_shrink(f, factor) for f in frames]
        # Split so that every stream gets work even when there are few frames.
        size = max(1, min(self.batch_size, -(-len(small) // self.streams)))
        batches = [small[i : i + size] for i in range(0, len(small), size)]
        if self.streams == 1 or len(batches) == 1:
            found = [self._detect_batch(b, factor) for b in batches]
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(min(self.streams, len(batches))) as pool:
                found = list(pool.map(lambda b: self._detect_batch(b, factor), batches))
        return [faces for batch in found for faces in batch]

    def _detect_batch(self, frames: list[np.ndarray], factor: float) -> list[FrameFaces]:
        # float32 in: mtcnn normalises with numpy, and uint8 would become float64 (slower).
        batch = [f.astype(np.float32) for f in frames]
        # mtcnn 1.0 sizes its pyramid for min_face_size=20 (larger values lose every face):
        # to skip small faces faster, lower max_side instead.
        rows = self._model.detect_faces(batch, box_format="xyxy", output_type="numpy")
        return self._split(np.asarray(rows, np.float64), len(batch), factor)

    def _split(self, rows: np.ndarray, count: int, factor: float) -> list[FrameFaces]:
        """MTCNN's rows ``[image, x0, y0, x1, y1, score, 5 xs, 5 ys]`` -> per-frame faces."""
        rows = rows.reshape(-1, 16)
        rows = rows[rows[:, 5] >= self.min_score]
        out = []
        for i in range(count):
            mine = rows[rows[:, 0] == i]
            if not len(mine):
                out.append(FrameFaces.empty())
                continue
            landmarks = np.stack([mine[:, 6:11], mine[:, 11:16]], axis=-1) / factor
            out.append(
                FrameFaces(
                    boxes=(mine[:, 1:5] / factor).astype(np.float32),
                    scores=mine[:, 5].astype(np.float32),
                    landmarks=landmarks.astype(np.float32),
                )
            )
        return out


def _shrink(frame: np.ndarray, factor: float) -> np.ndarray:
    if factor >= 1.0:
        return frame
    size = (max(1, round(frame.shape[1] * factor)), max(1, round(frame.shape[0] * factor)))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


@functools.lru_cache(maxsize=4)
def _mtcnn(device: str):
    """One MTCNN network per device per process (building it takes seconds)."""
    from mtcnn import MTCNN

    return MTCNN(device=device)
