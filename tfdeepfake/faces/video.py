"""Video decoding and frame sampling with OpenCV (FFmpeg backend).

Frames are sampled in one sequential pass: ``grab()`` advances over unused frames (no colour
conversion, no copy) and only the sampled ones are retrieved. The pass runs to the end of the
stream, so the number of *decodable* frames is known instead of trusting the container's
claim; if the claim was wrong and the plan needs other frames, a second pass fetches them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from tfdeepfake.faces.deadline import Deadline
from tfdeepfake.faces.errors import ExtractionError
from tfdeepfake.faces.media import is_media, media_kind
from tfdeepfake.safeio import needs_escape, walk_files

SAMPLINGS = ("even", "stride", "first")
# Limits (documented in docs/reliability.md; flags --max-frames, --max-pixels, --time-limit).
MAX_FRAMES = 4096  # frames sampled from one video at most (frames=None means up to this)
MAX_PIXELS = 8192 * 8192  # frame width x height at most, checked before any frame decodes
_TIME_CHECK_EVERY = 32  # frames grabbed between looks at the clock
_PROBE_SECONDS = 60  # the FFmpeg stream listing of a one-frame video (cover art?) at most


@dataclasses.dataclass
class VideoFrames:
    """Sampled frames of one video and what the container says about it.

    Attributes:
        frames: (T, H, W, 3) uint8 RGB, already rotated upright.
        indices: (T,) index of each frame in the decoded stream.
        fps: frames per second from the container (0.0 if unknown, and for a still image).
        frame_count: frames actually decodable.
        claimed_frame_count: what the container claimed (-1 if nothing).
        rotation: clockwise degrees ``frames`` were turned to stand upright: a video's
            rotation metadata, an image's EXIF Orientation (whose mirroring, if any, is
            applied too but is not counted in degrees).
        frame_size: (height, width) of the source frames after rotation.
        scale: ``frames`` size / source size (< 1 only when ``max_side`` shrank them).
        path: the video path as given.
        times: (T,) seconds of each frame from the stream's time stamps (a variable frame
            rate, as phones record, is not ``index / fps``); None for a still image or a
            stream without usable time stamps.
    """

    frames: np.ndarray
    indices: np.ndarray
    fps: float
    frame_count: int
    claimed_frame_count: int
    rotation: int
    frame_size: tuple[int, int]
    scale: float
    path: str
    times: np.ndarray | None = None

    def seconds(self, indices) -> np.ndarray:
        """Seconds of the frames at stream ``indices``: from the time stamps (interpolated
        between the decoded frames) when there are any, else ``index / fps``."""
        indices = np.asarray(indices, np.float64)
        if self.times is not None and len(self.times) > 1:
            return np.interp(indices, self.indices, self.times)
        return indices / self.fps if self.fps > 0 else indices

    @property
    def duration(self) -> float:
        """Seconds of video (decodable frames / fps; 0.0 when fps is unknown)."""
        return self.frame_count / self.fps if self.fps > 0 else 0.0


def plan_indices(
    total: int,
    frames: int | None,
    sampling: str = "even",
    stride: int = 1,
    max_frames: int = MAX_FRAMES,
) -> list:
    """Frame indices to sample from a stream of ``total`` frames.

    ``even``: ``frames`` indices spread evenly over the whole video (all frames if fewer);
    ``stride``: every ``stride``-th frame from 0, at most ``frames`` of them;
    ``first``: the first ``frames``. ``frames=None`` means ``max_frames``: the plan never
    holds more, whatever frame count a container claims.
    """
    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling must be one of {SAMPLINGS}, got {sampling!r}.")
    check_count("frames", frames, optional=True)
    check_count("stride", stride)
    check_count("max_frames", max_frames)
    if total <= 0:
        return []
    frames = max_frames if frames is None else min(frames, max_frames)
    if sampling == "stride":
        return list(range(0, min(total, frames * stride), stride))
    if frames >= total:
        return list(range(total))
    if sampling == "first":
        return list(range(frames))
    return sorted({int(round(x)) for x in np.linspace(0, total - 1, frames)})


def check_count(name: str, value, optional: bool = False) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``value`` is an int >= 1 (or None when
    ``optional``): the one check of frame and size counts (``read_video``, ``Detector``)."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        none = " or None" if optional else ""
        raise ValueError(f"{name} must be >= 1{none} (an int), got {value!r}.")


def read_video(
    path: str | os.PathLike,
    frames: int | None = 32,
    sampling: str = "even",
    stride: int = 1,
    max_side: int | None = None,
    min_frames: int = 1,
    max_frames: int = MAX_FRAMES,
    max_pixels: int | None = MAX_PIXELS,
    time_limit: float | None = None,
    deadline: Deadline | None = None,
) -> VideoFrames:
    """Decode ``frames`` frames of a video, sampled by ``sampling`` (see ``plan_indices``).

    Args:
        path: the video file.
        frames: how many frames to sample (None: all, or all at ``stride``).
        sampling: ``"even"``, ``"stride"`` or ``"first"``.
        stride: step for ``"stride"`` sampling.
        max_side: shrink frames whose long side exceeds this (bounds memory on 4K input);
            ``VideoFrames.scale`` records the factor.
        min_frames: fewer decodable frames than this raises ``too_few_frames``.
        max_frames: at most this many frames are sampled (``frames=None``: up to this).
        max_pixels: frames larger than this (width x height, from the container, checked
            before any frame decodes, and again on each decoded frame) raise ``too_large``.
        time_limit: seconds the decoding may take; past it raises ``timeout``.
        deadline: a ``Deadline`` shared with the later stages of the same video (face
            detection, scoring); replaces ``time_limit``.

    Raises:
        ExtractionError: reason ``missing``, ``empty``, ``folder``, ``empty_folder``,
        ``not_video``, ``audio_only`` (also: a sound file whose only picture is its cover
        art), ``corrupt``, ``too_few_frames``, ``too_large`` or ``timeout``.

    An image is turned upright by its EXIF Orientation; a still one is read as one frame
    with ``fps`` 0.0 (an animated one keeps its frame rate).

    Example::

        video = read_video("clip.mp4", frames=16)
        video.frames.shape  # (16, 360, 640, 3)
    """
    plan_indices(1, frames, sampling, stride, max_frames)  # validate before any I/O
    check_count("min_frames", min_frames)
    path = Path(path)
    limits = _Limits(path, max_pixels, deadline or Deadline(path, time_limit))
    header, got, total, size = _first_pass(
        path,
        lambda claimed: plan_indices(claimed, frames, sampling, stride, max_frames)
        if claimed > 0
        else [],
        max_side,
        limits,
    )
    if total == 0:
        kind = _sniff(path)
        if kind == "audio":
            raise ExtractionError("audio_only", path, "the file has no decodable video frames")
        raise ExtractionError("corrupt", path, "the container opened but no frame decodes")
    needed = plan_indices(total, frames, sampling, stride, max_frames)
    missing = [i for i in needed if i not in got]
    if missing:  # the claimed count was wrong (or unknown): fetch the frames of the true plan
        capture = _open(path)
        try:
            more, _, more_size = _pass(
                capture, set(missing), max_side, limits, header.orientation, max(missing),
                header.stamps,
            )
        finally:
            capture.release()
        got.update(more)
        size = size or more_size
    indices = [i for i in needed if i in got]
    if not indices:
        raise ExtractionError("corrupt", path, f"{total} frames found but none decodes")
    if len(indices) < min_frames:
        raise ExtractionError(
            "too_few_frames",
            path,
            f"{total} decodable frame(s), {len(indices)} sampled; at least {min_frames} needed",
        )
    return _video_frames(path, header, got, indices, total, size)


def read_frames_at(
    path: str | os.PathLike,
    indices: list[int],
    max_side: int | None = None,
    max_pixels: int | None = MAX_PIXELS,
    time_limit: float | None = None,
    deadline: Deadline | None = None,
) -> VideoFrames:
    """Decode exactly the frames at ``indices`` (e.g. of an original, to pair with its fake).

    Indices beyond the decodable end are left out of the result: compare ``.indices``.
    Raises ``ExtractionError`` like ``read_video`` (same limits, same ``deadline``).
    """
    path = Path(path)
    limits = _Limits(path, max_pixels, deadline or Deadline(path, time_limit))
    header, got, total, size = _first_pass(path, lambda _claimed: indices, max_side, limits)
    if not got:
        raise ExtractionError("corrupt", path, f"none of the frames {indices[:5]}... decodes")
    kept = [i for i in sorted(set(indices)) if i in got]
    return _video_frames(path, header, got, kept, total, size)


class _Header(NamedTuple):
    """What the container says: frame rate, claimed frame count, rotation (clockwise
    degrees), the EXIF Orientation (1 to 8) that ``_pass`` applies to each frame, and the
    time stamp in seconds of each retrieved frame by index (filled by ``_pass``)."""

    fps: float
    claimed: int
    rotation: int
    orientation: int
    stamps: dict


def _first_pass(
    path: Path,
    wanted: Callable[[int], list[int]],
    max_side: int | None,
    limits: _Limits,
) -> tuple[_Header, dict[int, np.ndarray], int, tuple[int, int] | None]:
    """Check the file and its header, then decode the frames ``wanted(claimed frame count)``
    names in one pass: ``(header, frames by index, decodable frame count, (height,
    width))``. A one-frame image gets fps 0.0; a one-frame video that is a sound file's
    cover art raises ``audio_only``."""
    _check_file(path)
    image = media_kind(path) == "image"
    capture = _open(path)
    try:
        limits.check_header(capture)
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        claimed = _claimed_count(capture)
        rotation = int(capture.get(cv2.CAP_PROP_ORIENTATION_META) or 0) % 360
        orientation = _exif_orientation(path) if image and rotation == 0 else 1
        rotation = (rotation + _EXIF_TURNS[orientation][0]) % 360
        stamps: dict[int, float] = {}
        got, total, size = _pass(capture, set(wanted(claimed)), max_side, limits, orientation,
                                 stamps=stamps)
    finally:
        capture.release()
    if total == 1 and image:
        fps = 0.0  # a still: FFmpeg's 25 fps for images is no frame rate
    elif total == 1 and _is_cover_art(path):
        raise ExtractionError(
            "audio_only", path, "an audio file whose only picture is its cover art"
        )
    return _Header(fps, claimed, rotation, orientation, stamps), got, total, size


def _video_frames(
    path: Path,
    header: _Header,
    got: dict[int, np.ndarray],
    indices: list[int],
    total: int,
    size: tuple[int, int],
) -> VideoFrames:
    """The decoded frames at ``indices`` with what the header and the pass found."""
    fps = header.fps
    stack = np.stack([got[i] for i in indices])
    return VideoFrames(
        frames=stack,
        indices=np.asarray(indices, np.int64),
        fps=fps if np.isfinite(fps) and fps > 0 else 0.0,
        frame_count=total,
        claimed_frame_count=header.claimed,
        rotation=header.rotation,
        frame_size=(size[0], size[1]),
        scale=stack.shape[1] / size[0],
        path=str(path),
        times=_times(header, indices, total),
    )


def _times(header: _Header, indices: list[int], total: int) -> np.ndarray | None:
    """Seconds of the frames at ``indices``, when the stream's time stamps are usable (all
    known and never going back); None for a still image."""
    if total <= 1 or not all(i in header.stamps for i in indices):
        return None
    times = np.asarray([header.stamps[i] for i in indices], np.float64)
    if not np.all(np.isfinite(times)) or np.any(np.diff(times) < 0):
        return None
    if len(times) > 1 and times[-1] == times[0]:
        return None  # every stamp the same: the stream gave none
    return times - times[0] if indices[0] == 0 else times


class _Limits:
    """The frame-size limit and the clock of one decoding (see ``read_video``)."""

    def __init__(self, path: Path, max_pixels: int | None, deadline: Deadline):
        self.path, self.max_pixels, self.deadline = path, max_pixels, deadline

    def check_header(self, capture: cv2.VideoCapture) -> None:
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
        self.check_size(height, width)

    def check_size(self, height: int, width: int) -> None:
        if self.max_pixels is not None and height * width > self.max_pixels:
            raise ExtractionError(
                "too_large",
                self.path,
                f"frames of {width}x{height} = {width * height} pixels exceed the limit of "
                f"{self.max_pixels} (--max-pixels)",
            )

    def check_time(self, frames_done: int) -> None:
        self.deadline.check(f"decoding, at frame {frames_done}")


def _claimed_count(capture: cv2.VideoCapture) -> int:
    """The container's frame count (-1 when it says nothing or something absurd)."""
    claimed = capture.get(cv2.CAP_PROP_FRAME_COUNT) or -1
    return int(claimed) if np.isfinite(claimed) and 0 < claimed < 2**62 else -1


def _check_file(path: Path) -> None:
    if not path.exists():
        raise ExtractionError("missing", path, "no such file")
    if path.is_dir():
        if any(is_media(f) for f in walk_files(path)):
            raise ExtractionError("folder", path, "is a folder of videos or images, not one file")
        raise ExtractionError("empty_folder", path, "a folder with no video or image in it")
    if path.stat().st_size == 0:
        raise ExtractionError("empty", path, "the file is empty (0 bytes)")


@contextlib.contextmanager
def _openable_name(path: Path):
    """``str(path)``, or for a name that is not valid UTF-8 (OpenCV crashes on such a str)
    a temporary ASCII-named symlink to it, removed once FFmpeg holds the file open."""
    if not needs_escape(path):
        yield str(path)
        return
    suffix = re.sub(r"[^A-Za-z0-9.]", "", path.suffix)
    with tempfile.TemporaryDirectory(prefix="tfdeepfake-open-") as folder:
        alias = os.path.join(folder, "input" + suffix)
        os.symlink(os.path.abspath(path), alias)
        yield alias


def _open(path: Path) -> cv2.VideoCapture:
    with _openable_name(path) as name:
        capture = cv2.VideoCapture(name, cv2.CAP_FFMPEG)
    if capture.isOpened():
        capture.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
        return capture
    capture.release()
    kind = _sniff(path)
    if kind == "audio":
        raise ExtractionError("audio_only", path, "an audio file with no video track")
    if kind == "video":
        raise ExtractionError("corrupt", path, "a video container that FFmpeg cannot open")
    raise ExtractionError("not_video", path, "not a video file FFmpeg can open")


def _pass(
    capture: cv2.VideoCapture,
    wanted: set,
    max_side: int | None,
    limits: _Limits,
    orientation: int = 1,
    stop_after: int | None = None,
    stamps: dict[int, float] | None = None,
) -> tuple[dict[int, np.ndarray], int, tuple[int, int] | None]:
    """Grab every frame, retrieve the wanted ones (turned by the EXIF ``orientation``;
    their time stamps in seconds go into ``stamps`` when given).

    Returns the retrieved RGB frames by index, the number of frames grabbed and the source
    (height, width) of the retrieved frames, upright (None if none was retrieved).
    """
    got: dict[int, np.ndarray] = {}
    size = None
    index = 0
    while capture.grab():
        if index in wanted:
            ok, bgr = capture.retrieve()
            if ok and bgr is not None and bgr.size:
                limits.check_size(*bgr.shape[:2])
                bgr = _orient(bgr, orientation)
                size = bgr.shape[:2]
                got[index] = _to_rgb(bgr, max_side)
                if stamps is not None:
                    stamps[index] = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        index += 1
        if index % _TIME_CHECK_EVERY == 0:
            limits.check_time(index)
        if stop_after is not None and index > stop_after:
            break
    return got, index, size


# EXIF Orientation -> (clockwise degrees, transpose, flip rows, flip columns): the turn that
# makes the stored pixels upright (2, 4, 5 and 7 mirror too; the degrees leave that out).
_EXIF_TURNS = {
    1: (0, False, False, False),
    2: (0, False, False, True),
    3: (180, False, True, True),
    4: (0, False, True, False),
    5: (270, True, False, False),
    6: (90, True, False, True),
    7: (90, True, True, True),
    8: (270, True, True, False),
}


def _exif_orientation(path: Path) -> int:
    """An image's EXIF Orientation (1 = as stored), read by Pillow from the header only."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            value = image.getexif().get(0x0112, 1)
    except Exception:  # a format or a header Pillow cannot read: no tag to apply
        return 1
    return value if value in _EXIF_TURNS else 1


def _orient(frame: np.ndarray, orientation: int) -> np.ndarray:
    """``frame`` turned (and mirrored) as its EXIF ``orientation`` says, to stand upright."""
    _, transpose, flip_rows, flip_columns = _EXIF_TURNS[orientation]
    if transpose:
        frame = frame.transpose(1, 0, 2)
    if flip_rows:
        frame = frame[::-1]
    if flip_columns:
        frame = frame[:, ::-1]
    return np.ascontiguousarray(frame)


def _is_cover_art(path: Path) -> bool:
    """Whether a file that decodes to one picture is a sound file's cover art: its bytes say
    audio (ID3, an MP4 with a sound track only), or FFmpeg lists a sound stream and, as
    video, only attached pictures or one-picture image-codec tracks (a Matroska remux)."""
    if _sniff(path) == "audio":
        return True
    streams = [s for s in _ffmpeg_streams(path) if ": Audio: " in s or ": Video: " in s]
    videos = [s for s in streams if ": Video: " in s]
    return 0 < len(videos) < len(streams) and all(
        "(attached pic)" in s or _STILL_CODEC.search(s) for s in videos
    )


_STILL_CODEC = re.compile(r": Video: (mjpeg|png|bmp|gif|webp|tiff|jpeg2000|jpegls)\b")


def _ffmpeg_streams(path: Path) -> list[str]:
    """The ``Stream #...`` lines of ``ffmpeg -i`` (imageio-ffmpeg's binary); none if it
    cannot run."""
    import imageio_ffmpeg

    try:
        listing = subprocess.run(
            [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin",
             "-i", b"file:" + os.fsencode(os.path.abspath(path))],
            capture_output=True,
            timeout=_PROBE_SECONDS,
        )
    except (RuntimeError, OSError, subprocess.TimeoutExpired):  # no binary for this platform
        return []
    lines = listing.stderr.decode("utf-8", "replace").splitlines()
    return [line.strip() for line in lines if line.lstrip().startswith("Stream #")]


def _to_rgb(bgr: np.ndarray, max_side: int | None) -> np.ndarray:
    long_side = max(bgr.shape[:2])
    if max_side is not None and long_side > max_side:
        factor = max_side / long_side
        new_size = (round(bgr.shape[1] * factor), round(bgr.shape[0] * factor))
        bgr = cv2.resize(bgr, new_size, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


# Leading bytes of containers that hold video (or may), and of audio-only formats.
_VIDEO_MAGIC = (
    b"\x1a\x45\xdf\xa3",
    b"FLV",
    b"\x00\x00\x01\xba",
    b"\x00\x00\x01\xb3",
    b"\x30\x26\xb2\x75",
    b"GIF8",
)
_AUDIO_MAGIC = (
    b"ID3",
    b"fLaC",
    b"\xff\xfb",
    b"\xff\xf3",
    b"\xff\xf2",
    b"\xff\xf1",
    b"\xff\xf9",
    b"#!AMR",
    b"MThd",
)
_BMFF_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot")


def _sniff(path: Path, limit: int = 64 << 20) -> str:
    """Guess what a file holds from its bytes: ``"video"``, ``"audio"`` or ``"unknown"``."""
    with open(path, "rb") as handle:
        head = handle.read(16)
        if head[:4] == b"RIFF":
            kind = head[8:12]
            return "audio" if kind == b"WAVE" else "video" if kind.startswith(b"AVI") else "unknown"
        if head[4:8] in _BMFF_BOXES:
            handle.seek(0)
            data = handle.read(limit)
            handlers = {data[i + 12 : i + 16] for i in _find_all(data, b"hdlr")}
            if b"soun" in handlers and b"vide" not in handlers:
                return "audio"
            return "video"
        if head.startswith(b"OggS"):
            handle.seek(0)
            return "video" if b"theora" in handle.read(4096) else "audio"
        if head[:1] == b"\x47":  # MPEG transport stream: sync byte every 188 bytes
            handle.seek(188)
            if handle.read(1) == b"\x47":
                return "video"
    if head.startswith(_VIDEO_MAGIC):
        return "video"
    if head.startswith(_AUDIO_MAGIC):
        return "audio"
    return "unknown"


def _find_all(data: bytes, needle: bytes) -> list[int]:
    found, start = [], data.find(needle)
    while start != -1:
        found.append(start)
        start = data.find(needle, start + 1)
    return found
