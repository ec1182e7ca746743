"""What `Detector` returns for each input: plain dataclasses that serialise to JSON and CSV.

Scores are fake probabilities in [0, 1] (1 = fake). ``confidence`` is the probability of
the verdict given: ``score`` for FAKE, ``1 - score`` for REAL.
"""

from __future__ import annotations

import dataclasses
from typing import Any

REAL, FAKE, NO_FACE, ERROR = "REAL", "FAKE", "NO_FACE", "ERROR"
VERDICTS = (REAL, FAKE, NO_FACE, ERROR)


@dataclasses.dataclass
class TrackResult:
    """One face track of a video: where it was and what each model thought of it."""

    track_id: int
    frame_indices: list[int]
    boxes: list[list[float]]
    model_scores: dict[str, float]
    frame_scores: dict[str, list[float]]
    score: float

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class VideoResult:
    """The outcome for one input path (a video or an image).

    Attributes:
        path: the input as the user gave it.
        kind: ``"video"`` or ``"image"``.
        verdict: REAL, FAKE, NO_FACE or ERROR.
        score: ensemble fake probability of the most suspicious track (None without a verdict).
        confidence: probability of the verdict (None without a verdict).
        model_scores: each model's video fake probability (most suspicious track).
        untrained: True when any model ran with random weights (``--allow-untrained``):
            such a verdict means nothing.
        frames_used: frames sampled from the input.
        faces: number of face tracks found.
        seconds: wall time spent on this input.
        error: ``"reason: message"`` for NO_FACE and ERROR, else None.
        media: fps, width, height, frame_count, duration of the input.
        tracks: every face track, with per-frame scores.
        report: paths of the report files made for this input (plot, heatmap video).
        timings: seconds per stage: ``faces`` (decode, detect, track, crop), each model's
            name, and ``report``.
    """

    path: str
    kind: str = "video"
    verdict: str = ERROR
    score: float | None = None
    confidence: float | None = None
    model_scores: dict[str, float] = dataclasses.field(default_factory=dict)
    untrained: bool = False
    frames_used: int = 0
    faces: int = 0
    seconds: float = 0.0
    error: str | None = None
    media: dict[str, Any] = dataclasses.field(default_factory=dict)
    tracks: list[TrackResult] = dataclasses.field(default_factory=list)
    report: dict[str, str] = dataclasses.field(default_factory=dict)
    timings: dict[str, float] = dataclasses.field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """True when the input got no REAL/FAKE verdict."""
        return self.verdict in (NO_FACE, ERROR)

    @property
    def label(self) -> str:
        """The verdict as shown to people: UNTRAINED-prefixed when weights were random."""
        return f"UNTRAINED-{self.verdict}" if self.untrained and not self.failed else self.verdict

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["label"] = self.label
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VideoResult:
        """The inverse of ``to_dict``."""
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in fields}
        values["tracks"] = [TrackResult(**t) for t in data.get("tracks", [])]
        return cls(**values)
