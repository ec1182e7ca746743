"""Receiving an upload: the multipart body streamed to disk with a running byte count, and
the file's type sniffed from its content (never from its name or the client's word)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from tfdeepfake.faces.media import sniff as sniff_media

# Multipart framing (boundaries, part headers) allowed on top of the file in Content-Length.
MULTIPART_SLACK = 64 * 1024
FILE_FIELD = "file"
INCOMPLETE = "the upload ended before its closing boundary; send the whole file again"


class UploadError(Exception):
    """An upload refused: ``status`` is the HTTP status, the message says why and what to do."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def client_filename(raw: str) -> str:
    """The name to show for an upload: its last path component, printable, at most 200
    characters. It is only ever displayed (escaped); files are stored under fixed names."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c if c.isprintable() else "?" for c in name).strip()
    return name[:200] or "upload"


def check_content_length(header: str | None, max_bytes: int) -> None:
    """413 at once when the declared body is larger than any allowed upload."""
    if header is None:
        return
    try:
        declared = int(header)
    except ValueError:
        raise UploadError(400, f"Content-Length {header!r} is not a number.") from None
    if declared > max_bytes + MULTIPART_SLACK:
        raise UploadError(413, _too_large(max_bytes, declared))


def _malformed(err: FormParserError) -> str:
    return (f"the upload is not a well-formed multipart/form-data body ({err}); send the file "
            "again with a multipart client (curl -F file=@clip.mp4 ...) and a file name under "
            "4,000 characters")


def _too_large(max_bytes: int, size: int | None = None) -> str:
    got = f" ({size / 2**20:.1f} MB)" if size is not None else ""
    return (f"the file is too large{got}: this server takes uploads up to "
            f"{max_bytes / 2**20:.0f} MB (--max-upload-mb); cut or re-encode the video")


async def receive_file(
    content_type: str | None,
    chunks: AsyncIterator[bytes],
    dest: Path,
    max_bytes: int,
    on_filename: Callable[[str], None],
) -> int:
    """Stream the ``file`` part of a multipart body into ``dest``; returns its size.

    ``on_filename`` is called as soon as the part's headers name the file (the caller
    records the job then). Raises ``UploadError`` (413 past ``max_bytes``, 400 for a body
    that is not a well-formed multipart form with a ``file`` part, or that ends before its
    closing boundary); ``dest`` is then removed.
    """
    kind, options = parse_options_header(content_type or "")
    if kind != b"multipart/form-data" or not options.get(b"boundary"):
        raise UploadError(400, "send the video as multipart/form-data with a 'file' field "
                               "(curl -F file=@clip.mp4 ...)")
    state = {"headers": {}, "field": b"", "value": b"", "in_file": False, "size": 0,
             "seen": False, "ended": False, "error": None}

    def on_header_field(data, start, end):
        state["field"] += data[start:end]

    def on_header_value(data, start, end):
        state["value"] += data[start:end]

    def on_header_end():
        state["headers"][state["field"].lower()] = state["value"]
        state["field"], state["value"] = b"", b""

    def on_headers_finished():
        _, params = parse_options_header(state["headers"].get(b"content-disposition", b""))
        state["in_file"] = params.get(b"name") == FILE_FIELD.encode() and not state["seen"]
        if state["in_file"]:
            state["seen"] = True
            raw = params.get(b"filename", b"upload").decode("utf-8", "replace")
            on_filename(client_filename(raw))

    def on_part_data(data, start, end):
        if not state["in_file"] or state["error"]:
            return
        state["size"] += end - start
        if state["size"] > max_bytes:
            state["error"] = UploadError(413, _too_large(max_bytes))
            return
        out.write(data[start:end])

    def on_part_end():
        state["in_file"], state["headers"] = False, {}

    def on_end():
        state["ended"] = True

    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(dest, "wb") as out:
            parser = MultipartParser(options[b"boundary"], {
                "on_header_field": on_header_field, "on_header_value": on_header_value,
                "on_header_end": on_header_end, "on_headers_finished": on_headers_finished,
                "on_part_data": on_part_data, "on_part_end": on_part_end, "on_end": on_end,
            })
            async for chunk in chunks:
                parser.write(chunk)
                if state["error"]:
                    raise state["error"]
            parser.finalize()
        if not state["seen"]:
            raise UploadError(400, f"the form has no '{FILE_FIELD}' field holding the video")
        if not state["ended"]:
            raise UploadError(400, INCOMPLETE)
    except BaseException as err:
        dest.unlink(missing_ok=True)
        if isinstance(err, FormParserError):  # a bad boundary, part header or framing
            raise UploadError(400, _malformed(err)) from None
        raise
    return state["size"]


def sniff(path: Path) -> tuple[str, str]:
    """``(kind, suffix)`` of a received file from its first bytes: ``("video", ".mp4")``
    (``tfdeepfake.faces.media.sniff``, the rule ``detect`` follows too).

    Raises ``UploadError(415)`` for anything that is neither a video nor an image
    Detector reads, naming what it looks like.
    """
    if os.path.getsize(path) == 0:
        raise UploadError(415, "the file is empty")
    kind, suffix = sniff_media(path)
    if kind in ("video", "image"):
        return kind, suffix
    looks = {
        "audio": f"its content is audio ({suffix.lstrip('.')}) with no picture",
        "other": f"its content is {suffix.lstrip('.')}" if suffix else
        "its content is not a known media format",
    }[kind]
    wanted = ("a video (mp4, mov, avi, mkv, webm, ts...) or an image (jpg, png, bmp, webp, "
              "tiff, avif)")
    raise UploadError(415, f"not a video or image ({looks}); upload {wanted}")
