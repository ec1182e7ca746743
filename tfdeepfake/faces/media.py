"""What a file holds, told from its first bytes (a name can lie) and, failing that, its name.

One rule for every entry point: ``detect`` (image or video, and which files of a folder are
inputs), ``extract`` (which files are videos) and the web server (which uploads to accept).
Content sniffing uses the ``filetype`` library, plus MPEG transport streams (``.ts``,
AVCHD ``.mts``/``.m2ts``), which it does not know.
"""

from __future__ import annotations

import os
from pathlib import Path

import filetype

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv",
                  ".ts", ".mts", ".m2ts", ".3gp", ".ogv", ".gif")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".webp", ".tif", ".tiff", ".avif")
SNIFF_BYTES = 8192
_TS_PACKET = 188


def sniff(path: str | os.PathLike) -> tuple[str, str]:
    """``(kind, suffix)`` of a file from its first bytes: kind is ``"video"``, ``"image"``,
    ``"audio"`` or ``"other"`` (unknown bytes, or a file that cannot be read); suffix is the
    usual one of that content (``".mp4"``), or ``""``.

    A GIF is a video (FFmpeg reads its frames; a still GIF is a one-frame video).
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError:
        return "other", ""
    if _is_transport_stream(head):
        return "video", ".ts"
    guess = filetype.guess(head) if head else None
    if guess is None:
        return "other", ""
    suffix = f".{guess.extension}"
    if guess.mime == "image/gif" or guess.mime.startswith("video/"):
        return "video", suffix
    if guess.mime.startswith("image/"):
        return ("image", suffix) if suffix in IMAGE_SUFFIXES else ("other", suffix)
    if guess.mime.startswith("audio/"):
        return "audio", suffix
    return "other", suffix


def _is_transport_stream(head: bytes) -> bool:
    """MPEG-TS: a 0x47 sync byte every 188 bytes (AVCHD: after a 4-byte time stamp, every
    192), checked over the first packets."""
    for start, step in ((0, _TS_PACKET), (4, _TS_PACKET + 4)):
        offsets = range(start, min(len(head), start + 4 * step), step)
        if len(offsets) >= 2 and all(head[i] == 0x47 for i in offsets):
            return True
    return False


def media_kind(path: str | os.PathLike) -> str:
    """``"video"`` or ``"image"``: the content's kind when it is one of those, else the
    name's (a missing or unreadable file is judged by its name; its reading then fails with
    the reason)."""
    kind, _ = sniff(path)
    if kind in ("video", "image"):
        return kind
    return "image" if Path(path).suffix.lower() in IMAGE_SUFFIXES else "video"


def is_media(path: str | os.PathLike, kinds: tuple[str, ...] = ("video", "image")) -> bool:
    """Whether a file found in a folder is an input of that kind: by its name, or by its
    content when the name says otherwise (a video named ``.dat``)."""
    suffix = Path(path).suffix.lower()
    if suffix in VIDEO_SUFFIXES and "video" in kinds:
        return True
    if suffix in IMAGE_SUFFIXES and "image" in kinds:
        return True
    return sniff(path)[0] in kinds
