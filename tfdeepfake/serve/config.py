"""`ServeConfig`: everything `tfdeepfake serve` and `create_app` are set up with."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from tfdeepfake.faces.deadline import TIME_LIMIT
from tfdeepfake.faces.video import MAX_FRAMES, MAX_PIXELS


@dataclasses.dataclass
class ServeConfig:
    """Settings of one server.

    Args:
        weights: a run folder or a folder of run folders (as ``tfdeepfake detect --weights``).
        pretrained: a published-weights bundle name instead (``tfdeepfake pretrained``
            lists them; downloaded, verified and imported on first use).
        models: presets to run (default: those found in ``weights``).
        data_dir: uploads, results and (by default) the SQLite job database live here.
        db_url: a SQLAlchemy URL (default ``sqlite:///<data_dir>/jobs.sqlite3``); any
            database SQLAlchemy speaks, e.g. ``postgresql+psycopg://user@host/db``.
        workers: jobs scored at once (threads sharing one set of loaded models).
        queue_size: jobs waiting at most; a new upload beyond it gets 503.
        max_upload_mb: larger uploads get 413 before their body is read.
        keep_hours: finished jobs (rows and files) are deleted this long after they end;
            0 keeps them for ever.
        token: when set, every API call needs ``Authorization: Bearer <token>``.
        frames: frames sampled per video (default: the presets').
        threshold: ensemble probability at or above which a video is FAKE.
        report: write the per-frame chart and heatmap videos for each job.
        max_attempts: a job interrupted by a server stop is re-run until it has been
            started this many times, then marked failed with the reason.
        max_frames, max_pixels, time_limit: per-upload limits of the ``Detector`` (frames
            sampled, pixels per frame, seconds for decoding + faces + scoring); an upload
            past one fails with the reason (``too_large``, ``timeout``).
    """

    weights: str | None = None
    pretrained: str | None = None
    models: list[str] | None = None
    data_dir: str = "tfdeepfake-serve"
    db_url: str | None = None
    workers: int = 1
    queue_size: int = 100
    max_upload_mb: float = 500.0
    keep_hours: float = 24.0
    token: str | None = None
    frames: int | None = None
    threshold: float = 0.5
    report: bool = True
    max_attempts: int = 2
    max_frames: int = MAX_FRAMES
    max_pixels: int | None = MAX_PIXELS
    time_limit: float | None = TIME_LIMIT

    def __post_init__(self):
        if self.weights and self.pretrained:
            raise ValueError("Give weights (--weights DIR) or pretrained (--pretrained NAME), "
                             "not both.")
        for name in ("workers", "queue_size", "max_attempts", "max_frames"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}.")
        if self.max_upload_mb <= 0:
            raise ValueError(f"max_upload_mb must be > 0, got {self.max_upload_mb}.")
        if self.max_pixels is not None and self.max_pixels < 1:
            raise ValueError(f"max_pixels must be >= 1, got {self.max_pixels}.")
        if self.time_limit is not None and self.time_limit <= 0:
            raise ValueError(f"time_limit must be > 0 seconds, got {self.time_limit}.")
        if self.keep_hours < 0:
            raise ValueError(f"keep_hours must be >= 0 (0 keeps jobs), got {self.keep_hours}.")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def jobs_dir(self) -> Path:
        return Path(self.data_dir).resolve() / "jobs"

    @property
    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{Path(self.data_dir).resolve() / 'jobs.sqlite3'}"
