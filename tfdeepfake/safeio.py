"""Low-level safety helpers every writer uses (standard library + ``filelock`` only).

- ``atomic_write`` / ``write_text_atomic``: a file is written to a temporary file in the
  same folder, fsynced and renamed over the target, so a reader sees the old file or the
  whole new one, never half of it.
- ``display_name`` / ``parse_display_name``: file names that are not valid UTF-8 (Python
  holds them as surrogate-escaped ``str``) shown losslessly and readably (``\\xNN``).
- ``safe_name``: a file-name component made from untrusted text (a video id, a path) that
  cannot leave its folder.
- ``csv_cell``: a CSV cell a spreadsheet will not run as a formula.
- ``folder_lock``: one exclusive lock per output folder, with a clear message when taken.
- ``walk_files`` / ``glob_files``: the one rule for input folders and ``**`` globs: symlinked
  folders are followed, each real folder is visited once (a link loop ends the descent).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

LOCK_NAME = ".tfdeepfake.lock"


class FolderBusyError(RuntimeError):
    """Another run holds the lock of an output folder."""


def fsync_dir(folder: str | os.PathLike) -> None:
    """Flush a folder's entries (a rename in it) to disk; a no-op where unsupported."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_file(path: str | os.PathLike) -> None:
    """Flush a file's data to disk (e.g. a shard before its manifest line)."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def sha256_of(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8", newline=None
) -> Iterator:
    """Open a temporary file beside ``path``; on success fsync it and rename it to ``path``.

    On an exception the temporary file is removed and ``path`` is left as it was. Text
    files are UTF-8 unless ``encoding`` says otherwise.

    Example::

        with atomic_write("out/summary.json") as f:
            json.dump(summary, f)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    binary = "b" in mode
    handle = open(tmp, mode, **({} if binary else {"encoding": encoding, "newline": newline}))
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """``Path(path).write_text(text)`` (UTF-8), but atomic and durable."""
    with atomic_write(path) as handle:
        handle.write(text)


def display_name(text: str | bytes | os.PathLike) -> str:
    """A name as valid, readable UTF-8 on one line that ``parse_display_name`` turns back
    exactly.

    Bytes that are not UTF-8 (surrogate escapes in a ``str``) become ``\\xNN`` (NN 80-ff),
    control characters (a newline, an escape that would recolour a terminal) ``\\xNN`` (NN
    00-1f, 7f) and a backslash ``\\\\``; every other character is kept. A valid UTF-8 name
    without a backslash or a control character is returned unchanged.
    """
    out = os.fsdecode(text)
    if "\\" not in out and not _has_surrogates(out) and not _CONTROL.search(out):
        return out
    return "".join(_shown(c) for c in out)


def _shown(char: str) -> str:
    if char == "\\":
        return "\\\\"
    if _is_escape(char):
        return f"\\x{ord(char) - 0xDC00:02x}"
    if _CONTROL.match(char):
        return f"\\x{ord(char):02x}"
    return char


def parse_display_name(shown: str) -> str:
    """The inverse of ``display_name``: the name as Python's file functions take it."""
    if "\\" not in shown:
        return shown
    return re.sub(r"\\(\\|x[0-9a-f]{2})", _parsed, shown)


def _parsed(match: re.Match) -> str:
    if match.group(1) == "\\":
        return "\\"
    code = int(match.group(1)[1:], 16)
    return chr(code) if code < 0x80 else chr(0xDC00 + code)


def encode_text(text: str) -> bytes:
    """A name or id as stored bytes: UTF-8, undecodable file-name bytes kept as they were."""
    return text.encode("utf-8", "surrogateescape")


def decode_text(raw: bytes) -> str:
    """The inverse of ``encode_text`` (bytes that are not UTF-8 come back surrogate-escaped)."""
    return raw.decode("utf-8", "surrogateescape")


def readable_text(text: str) -> str:
    """Free text (a message) with any undecodable bytes shown as ``\\xNN``; valid UTF-8."""
    if not _has_surrogates(text):
        return text
    return "".join(f"\\x{ord(c) - 0xDC00:02x}" if _is_escape(c) else c for c in text)


_CONTROL = re.compile("[\x00-\x1f\x7f]")


def _is_escape(char: str) -> bool:
    return 0xDC80 <= ord(char) <= 0xDCFF


def _has_surrogates(text: str) -> bool:
    return any(_is_escape(c) for c in text)


def needs_escape(path: str | os.PathLike) -> bool:
    """True when a path is not valid UTF-8 (some C libraries crash on such a ``str``)."""
    return _has_surrogates(os.fsdecode(path))


def safe_name(text: str, max_length: int = 80) -> str:
    """A file-name component from untrusted ``text`` that stays inside its folder.

    Letters, digits, ``.``, ``_`` and ``-`` are kept, anything else becomes ``_``; leading
    dots and dashes are dropped (no ``..``, no hidden files, no option-like names). When the
    text had to change, 8 hex digits of its SHA-1 are appended so two different inputs
    never share a name.
    """
    shown = display_name(text)
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", shown).lstrip(".-")[:max_length] or "input"
    if cleaned == shown:
        return cleaned
    digest = hashlib.sha1(shown.encode("utf-8")).hexdigest()[:8]
    return f"{cleaned}_{digest}"


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|nan)$")


def csv_cell(value):
    """A CSV cell a spreadsheet shows as text: ``=``, ``+``, ``-``, ``@`` (and tab/CR)
    starting a non-numeric string get a leading ``'`` (OWASP's advice), and so does a
    string that already starts with ``'`` (so ``csv_unescape`` gives every value back).
    Names are made readable with ``display_name``; numbers and other types pass through."""
    if not isinstance(value, str):
        return value
    value = readable_text(value)
    if value.startswith("'") or (value.startswith(_FORMULA_START) and not _NUMBER.match(value)):
        return "'" + value
    return value


def csv_unescape(cell: str) -> str:
    """A cell read back as it was before ``csv_cell`` (its added leading ``'`` removed)."""
    return cell[1:] if cell[:1] == "'" and cell[1:2] in (*_FORMULA_START, "'") else cell


def csv_row(values) -> list:
    """``csv_cell`` over a row (a list) or the values of a dict row (returns a dict)."""
    if isinstance(values, dict):
        return {k: csv_cell(v) for k, v in values.items()}
    return [csv_cell(v) for v in values]


@contextlib.contextmanager
def folder_lock(
    folder: str | os.PathLike, what: str = "run", name: str = LOCK_NAME
) -> Iterator[Path]:
    """Hold the exclusive lock of an output folder for the duration of the block
    (``name``: the lock file, for a lock on one output of a shared folder).

    Raises:
        FolderBusyError: another process holds it (two runs must not share a folder).
    """
    import filelock

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock_path = folder / name
    lock = filelock.FileLock(str(lock_path), timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise FolderBusyError(
            f"{folder} is in use by another {what} (it holds {lock_path}). Wait for that run "
            "to finish, or give this one another output folder."
        ) from None
    try:
        yield lock_path
    finally:
        lock.release()


def walk_files(folder: str | os.PathLike) -> list[str]:
    """Every file below ``folder``, sorted, following symlinked folders; each real folder
    is entered once (by its real path before any link to it), so a link loop
    (``a/loop -> ..``) cannot repeat or explode the list."""
    seen: set[tuple[int, int]] = set()
    found = []
    for root, dirs, files in os.walk(folder, followlinks=True):
        info = os.stat(root)
        if (info.st_dev, info.st_ino) in seen:
            dirs[:] = []
            continue
        seen.add((info.st_dev, info.st_ino))
        dirs.sort(key=lambda d: (os.path.islink(os.path.join(root, d)), d))
        found.extend(os.path.join(root, f) for f in files)
    return sorted(found)


def glob_files(pattern: str) -> list[str]:
    """Files matching a glob pattern, sorted; ``**`` (any depth) walks like ``walk_files``.

    ``*`` and ``?`` never match ``/``; without ``**`` this is ``glob.glob``.
    """
    import glob

    if "**" not in pattern:
        return sorted(p for p in glob.glob(pattern) if os.path.isfile(p))
    parts = pattern.split("/")
    fixed = next(i for i, part in enumerate(parts) if any(c in part for c in "*?["))
    root = "/".join(parts[:fixed]) or ("/" if pattern.startswith("/") else ".")
    regex = re.compile(_pattern_regex(parts))
    found = walk_files(root)
    if not parts[:fixed]:  # the walk started at ".": match and return "x", not "./x"
        found = [p.removeprefix("./") for p in found]
    return [p for p in found if regex.match(p)]


def _pattern_regex(parts: list[str]) -> str:
    pieces = []
    for k, part in enumerate(parts):
        if part == "**":
            pieces.append("(?:[^/]+/)*")
            continue
        piece = re.escape(part).replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        pieces.append(piece + ("/" if k < len(parts) - 1 else ""))
    return "".join(pieces) + r"\Z"
