"""Typed extraction errors with a machine-readable reason."""

from __future__ import annotations

import dataclasses

from tfdeepfake.safeio import display_name, readable_text

# Reason -> what the user can do about it.
REASONS: dict[str, str] = {
    "missing": "check the path (relative paths are resolved against the input folder)",
    "empty": "the file has zero bytes; re-download or re-copy it",
    "not_video": "the file is not a video container OpenCV/FFmpeg can open; remove it",
    "empty_folder": "the folder holds no video or image file (by name or content); check "
    "the path",
    "folder": "pass one file: `tfdeepfake detect DIR` and `Detector.predict` expand a folder "
    "into its videos and images",
    "audio_only": "the file has an audio track but no video track (a picture that is only "
    "cover art does not count); remove it",
    "corrupt": "the file is damaged or truncated; re-download it (a video can also be "
    "remuxed: ffmpeg -i IN -c copy OUT.mp4)",
    "too_few_frames": "the video has fewer decodable frames than needed (at least 2); a "
    "one-frame video or an image is a still: score it with `tfdeepfake detect`",
    "too_large": "the frames are larger than --max-pixels allows; raise it or downscale the video",
    "timeout": "decoding, face detection and scoring took longer than --time-limit seconds "
    "together; raise it, lower --frames or cut the video",
    "worker_died": "the face-finding process died on this input (out of memory? a crash in "
    "the decoder?); retry it alone, or lower --max-pixels",
    "quarantined": "workers died on this video repeatedly; it is skipped (delete its row to retry)",
    "no_face": "check that a face is visible and not too small: faces are searched for on "
    "the frame shrunk to a long side of 640 px and need about 20 px there, so crop in "
    "closer; for a video, sample more frames with --frames (extract: or raise "
    "--detect-side, lower --min-score)",
    "unknown_label": "the label is not REAL/FAKE/0/1; fix the labels file",
    "missing_original": "the fake names an original that is not in the labels or on disk",
    "original_failed": "the fake's original could not be read; the SSIM masks are left out",
    "unlabelled": "the video is in the input folder but not in the labels; add it there",
    "duplicate": "the same video id is listed twice; keep one entry",
    "bad_labels": "the labels file could not be parsed; fix its format",
    "unsupported": "not a video (by its extension); extract reads videos only, detect also "
    "reads images",
    "error": "an unexpected error; please report it with the message",
}


def advice(error: str | None) -> str:
    """What to do about a result's ``"reason: detail"`` error ("" when there is none)."""
    if not error:
        return ""
    reason = error.partition(": ")[0]
    return REASONS.get(reason, REASONS["error"])


class ExtractionError(RuntimeError):
    """A video (or label) that cannot be turned into face tracks.

    Attributes:
        reason: one of ``REASONS`` (machine-readable).
        path: the input the error is about.
        detail: what went wrong, in words.
    """

    def __init__(self, reason: str, path: str, detail: str):
        if reason not in REASONS:
            raise ValueError(f"Unknown extraction failure reason {reason!r}.")
        self.reason = reason
        self.path = str(path)
        self.detail = detail
        shown = display_name(self.path)
        super().__init__(f"{shown}: {readable_text(detail)} [{reason}: {REASONS[reason]}]")


@dataclasses.dataclass
class Failure:
    """One row of ``failures.csv``: an input that was not (fully) extracted, and why."""

    path: str
    reason: str
    message: str

    @classmethod
    def from_error(cls, err: ExtractionError) -> Failure:
        return cls(err.path, err.reason, str(err))
