"""The per-video time limit: one clock for all the work done on one video.

``tfdeepfake extract`` and ``tfdeepfake detect`` give each video ``--time-limit`` seconds
for decoding, face detection and (detect) scoring or (extract) the SSIM masks, together.
The clock is read between units of work: every 32 decoded frames, before each chunk of
frames goes to the face detector and before each batch a model scores. One native call
already running (a seek in FFmpeg, one detector or model batch) is not interrupted; the
video stops at the next check. ``extract --workers N`` also kills a worker process whose
video is still running well past its limit (see ``tfdeepfake.faces.dataset``).
"""

from __future__ import annotations

import os
import time

from tfdeepfake.faces.errors import ExtractionError

TIME_LIMIT = 600.0  # the default seconds per video of extract, detect and serve


class Deadline:
    """The time left to one video.

    Args:
        path: the video (named in the ``timeout`` error).
        seconds: its time limit; None means no limit.
        spent: seconds already used on it elsewhere (e.g. decoding on another thread), so
            that time spent waiting in a queue between stages is not charged.

    Example::

        deadline = Deadline("clip.mp4", 600)
        for batch in batches:
            deadline.check("scoring")  # raises ExtractionError("timeout", ...) past it
    """

    def __init__(self, path: str | os.PathLike, seconds: float | None, spent: float = 0.0):
        if seconds is not None and seconds <= 0:
            raise ValueError(f"time_limit must be > 0 seconds, got {seconds}.")
        self.path, self.seconds = path, seconds
        self._ends = None if seconds is None else time.monotonic() + seconds - spent

    def check(self, stage: str) -> None:
        """Raise ``ExtractionError("timeout")`` naming ``stage`` when the time is up."""
        if self._ends is not None and time.monotonic() > self._ends:
            raise ExtractionError(
                "timeout",
                self.path,
                f"the video took over {self.seconds:g} s (--time-limit); stopped during {stage}",
            )
