"""Checks on a command's output paths, made before any work, so that a typo never costs a
finished batch or overwrites an input. Each raises ``ValueError`` naming the flag, the path
and the fix; the commands print it and exit 2. Remote paths (``gs://``...) are left to the
filesystem that writes them."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


def _remote(path: str) -> bool:
    return "://" in str(path)


def _writable_parent(path: Path, flag: str, what: str) -> None:
    """The nearest existing folder above ``path`` must be a writable folder."""
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"{flag} {path}: {parent} is a file, so the {what} cannot be "
                         f"created under it. Give a path in a folder.")
    try:  # a real write: permissions, read-only mounts and /proc all answer it
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as err:
        raise ValueError(f"{flag} {path}: cannot write in {parent} ({err.strerror}). Give a "
                         f"path in a folder you can write to.") from None


def check_output_dir(path: str | None, flag: str = "--out") -> None:
    """``path`` is an existing folder or can be made as one."""
    if not path or _remote(path):
        return
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{flag} {path} is a file, not a folder. Give a new or existing "
                         f"folder (the file is left as it is).")
    _writable_parent(folder, flag, "folder")


def check_output_files(outputs: dict[str, str | None], inputs: Iterable[str] = ()) -> None:
    """Each of ``outputs`` (flag -> file path) is a file that can be written, names no input
    and no other output."""
    given = {flag: path for flag, path in outputs.items() if path and not _remote(path)}
    sources = {_identity(p): p for p in inputs}
    seen: dict[str, str] = {}
    for flag, path in given.items():
        target = Path(path)
        if target.is_dir():
            raise ValueError(f"{flag} {path} is a folder. Give a file name, for example "
                             f"{target / ('results' + _suffix(flag))}.")
        _writable_parent(target, flag, "file")
        key = _identity(path)
        if key in sources:
            raise ValueError(f"{flag} {path} is also an input: writing it would overwrite "
                             f"{sources[key]}. Give another file name.")
        if key in seen:
            raise ValueError(f"{flag} and {seen[key]} both name {path}: one would overwrite "
                             f"the other. Give each its own file.")
        seen[key] = flag


def _identity(path: str) -> str:
    """One name per file: links and ``..`` resolved."""
    return os.path.realpath(path)


def _suffix(flag: str) -> str:
    return {"--csv": ".csv", "--json": ".json", "--jsonl": ".jsonl"}.get(flag, "")
