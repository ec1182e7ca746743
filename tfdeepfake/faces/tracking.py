"""Link per-frame face boxes into tracks (one per person) by box overlap."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from tfdeepfake.faces.finder import FrameFaces


@dataclasses.dataclass
class Track:
    """One face followed over the sampled frames.

    Attributes:
        positions: (T,) position of each entry in the list of sampled frames.
        boxes: (T, 4) ``[x0, y0, x1, y1]`` in frame pixels.
        scores: (T,) detector confidence.
        landmarks: (T, 5, 2) in frame pixels.
    """

    positions: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray

    def __len__(self) -> int:
        return len(self.positions)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix between boxes ``a`` (n, 4) and ``b`` (m, 4), ``[x0, y0, x1, y1]``."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def track_faces(detections: Sequence[FrameFaces], iou: float = 0.2) -> list[Track]:
    """Link detections across frames into tracks; every detection lands in exactly one track.

    Frame by frame, each detection joins the track whose last box overlaps it most (IoU at
    least ``iou``; each track takes at most one box per frame), else it starts a new track.
    A track survives frames where its face was missed. Tracks come longest first (ties: the
    larger face first), so track 0 is the main face.
    """
    open_tracks: list[dict] = []
    for position, faces in enumerate(detections):
        if not len(faces):
            continue
        last = np.array([t["boxes"][-1] for t in open_tracks]).reshape(-1, 4)
        overlap = box_iou(faces.boxes, last)
        taken_dets, taken_tracks = set(), set()
        for flat in np.argsort(-overlap, axis=None):
            d, t = np.unravel_index(flat, overlap.shape)
            if overlap[d, t] < iou:
                break
            if d in taken_dets or t in taken_tracks:
                continue
            taken_dets.add(d)
            taken_tracks.add(t)
            _append(open_tracks[t], position, faces, d)
        for d in range(len(faces)):
            if d not in taken_dets:
                track = {"positions": [], "boxes": [], "scores": [], "landmarks": []}
                _append(track, position, faces, d)
                open_tracks.append(track)
    tracks = [
        Track(
            positions=np.asarray(t["positions"], np.int64),
            boxes=np.asarray(t["boxes"], np.float32),
            scores=np.asarray(t["scores"], np.float32),
            landmarks=np.asarray(t["landmarks"], np.float32),
        )
        for t in open_tracks
    ]
    area = [
        float(np.mean((t.boxes[:, 2] - t.boxes[:, 0]) * (t.boxes[:, 3] - t.boxes[:, 1])))
        for t in tracks
    ]
    order = sorted(range(len(tracks)), key=lambda i: (-len(tracks[i]), -area[i]))
    return [tracks[i] for i in order]


def _append(track: dict, position: int, faces: FrameFaces, d: int) -> None:
    track["positions"].append(position)
    track["boxes"].append(faces.boxes[d])
    track["scores"].append(faces.scores[d])
    track["landmarks"].append(faces.landmarks[d])
