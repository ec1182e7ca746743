"""One video -> face tracks with crops: decode, detect, track, crop.

``extract_faces`` is the single entry point that both ``tfdeepfake extract`` (training
shards) and ``tfdeepfake detect`` (inference) call, so crops are cut the same way in both.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from tfdeepfake.faces.crop import STORED_MARGIN, crop_face
from tfdeepfake.faces.deadline import Deadline
from tfdeepfake.faces.errors import ExtractionError
from tfdeepfake.faces.finder import FaceFinder, MTCNNFaceFinder
from tfdeepfake.faces.tracking import track_faces
from tfdeepfake.faces.video import MAX_FRAMES, MAX_PIXELS, VideoFrames, read_video


@dataclasses.dataclass
class FaceTrack:
    """One person's face over the sampled frames.

    Attributes:
        track_id: 0 for the longest track (the main face), then 1, 2, ...
        crops: (T, S, S, 3) uint8 RGB face crops.
        frame_index: (T,) index of each crop's frame in the video.
        boxes: (T, 4) ``[x0, y0, x1, y1]`` face boxes in source-frame pixels.
        landmarks: (T, 10) (x, y) of the 5 landmarks, in crop pixels.
        scores: (T,) detection confidence.
    """

    track_id: int
    crops: np.ndarray
    frame_index: np.ndarray
    boxes: np.ndarray
    landmarks: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.frame_index)


@dataclasses.dataclass
class VideoFaces:
    """Everything extracted from one video: its face tracks and what the video is."""

    path: str
    video_id: str
    tracks: list[FaceTrack]
    sampled_indices: np.ndarray
    fps: float
    frame_count: int
    claimed_frame_count: int
    rotation: int
    frame_size: tuple[int, int]
    crop_size: int
    margin: float
    mode: str

    @property
    def duration(self) -> float:
        """Seconds of decodable video (0.0 when fps is unknown)."""
        return self.frame_count / self.fps if self.fps > 0 else 0.0

    @property
    def face_count(self) -> int:
        """Crops over all tracks."""
        return sum(len(t) for t in self.tracks)


_DEFAULT_FINDER: list[FaceFinder] = []
FIND_CHUNK = 32  # frames per face-finder call; the time limit is checked between calls


def default_face_finder() -> FaceFinder:
    """The shared ``MTCNNFaceFinder()`` of this process (built on first use)."""
    if not _DEFAULT_FINDER:
        _DEFAULT_FINDER.append(MTCNNFaceFinder())
    return _DEFAULT_FINDER[0]


def extract_faces(
    path: str | os.PathLike,
    frames: int | None = 32,
    margin: float = STORED_MARGIN,
    crop_size: int = 256,
    finder: FaceFinder | None = None,
    sampling: str = "even",
    stride: int = 1,
    mode: str = "square",
    iou: float = 0.2,
    max_side: int | None = 1920,
    min_frames: int = 2,
    video_id: str | None = None,
    max_frames: int = MAX_FRAMES,
    max_pixels: int | None = MAX_PIXELS,
    time_limit: float | None = None,
) -> VideoFaces:
    """Decode a video, find and track its faces, and crop every face in every sampled frame.

    Args:
        path: the video file.
        frames, sampling, stride: which frames to use (see ``read_video``).
        margin: context around the face box, as a fraction of its side (crops are cut with
            this margin; a model wanting less takes a centre crop, see ``recrop_fraction``).
        crop_size: side of the square crops in pixels.
        finder: a ``FaceFinder``; default the shared ``MTCNNFaceFinder()``.
        mode: ``"square"`` or ``"pad"`` (see ``crop_face``).
        iou: minimum box overlap to link faces across sampled frames.
        max_side: frames with a longer side are shrunk to it after decoding (bounds memory
            on 4K video; boxes are still reported in source pixels).
        min_frames: fewer decodable frames raise ``too_few_frames`` (one frame is a still).
        video_id: id for the result (default: the file stem).
        max_frames, max_pixels: limits of the decoding (see ``read_video``).
        time_limit: seconds the decoding and the face detection may take together; past
            it raises ``timeout`` (see ``tfdeepfake.faces.deadline``).

    Raises:
        ExtractionError: with ``reason`` in ``missing``, ``empty``, ``not_video``,
        ``audio_only``, ``corrupt``, ``too_few_frames``, ``too_large``, ``timeout``,
        ``no_face``.

    Example::

        faces = extract_faces("clip.mp4", frames=16, crop_size=224)
        faces.tracks[0].crops.shape  # (16, 224, 224, 3) when the face is in every frame
    """
    deadline = Deadline(path, time_limit)
    video = read_video(
        path, frames, sampling, stride, max_side=max_side, min_frames=min_frames,
        max_frames=max_frames, max_pixels=max_pixels, deadline=deadline,
    )
    return faces_from_video(video, margin, crop_size, finder, mode, iou, video_id, deadline)


def faces_from_video(
    video: VideoFrames,
    margin: float = STORED_MARGIN,
    crop_size: int = 256,
    finder: FaceFinder | None = None,
    mode: str = "square",
    iou: float = 0.2,
    video_id: str | None = None,
    deadline: Deadline | None = None,
) -> VideoFaces:
    """The detect + track + crop half of ``extract_faces``, on frames already decoded.

    ``deadline``: the video's clock, read before each ``FIND_CHUNK`` frames go to the
    face finder (raises ``ExtractionError("timeout")`` past it).
    """
    finder = finder or default_face_finder()
    detections = []
    for start in range(0, len(video.frames), FIND_CHUNK):
        if deadline is not None:
            deadline.check(f"face detection, at sampled frame {start}")
        detections += finder.detect(video.frames[start : start + FIND_CHUNK])
    tracks = track_faces(detections, iou=iou)
    if not tracks:
        sampled = len(video.indices)
        where = "the image" if sampled == 1 and video.fps == 0 else (
            f"{sampled} sampled frame" + ("s" if sampled != 1 else ""))
        raise ExtractionError("no_face", video.path, f"no face found in {where}")
    out = []
    for track_id, track in enumerate(tracks):
        crops, points = [], []
        for position, box, lms in zip(track.positions, track.boxes, track.landmarks):
            crop, pts = crop_face(video.frames[position], box, margin, crop_size, mode, lms)
            crops.append(crop)
            points.append(pts.reshape(-1))
        out.append(
            FaceTrack(
                track_id=track_id,
                crops=np.stack(crops),
                frame_index=video.indices[track.positions],
                boxes=(track.boxes / video.scale).astype(np.float32),
                landmarks=np.stack(points).astype(np.float32),
                scores=track.scores,
            )
        )
    return VideoFaces(
        path=video.path,
        video_id=video_id or Path(video.path).stem,
        tracks=out,
        sampled_indices=video.indices,
        fps=video.fps,
        frame_count=video.frame_count,
        claimed_frame_count=video.claimed_frame_count,
        rotation=video.rotation,
        frame_size=video.frame_size,
        crop_size=crop_size,
        margin=margin,
        mode=mode,
    )
