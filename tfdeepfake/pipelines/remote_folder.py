"""Beam extraction with its input and output on any Beam filesystem (gs://, s3://, hdfs://).

Object stores have no rename, append or lock, so the extraction's files travel whole:

- **Input**: the driver mirrors the listing of the input folder as empty files in a local
  folder (and copies the labels file there), so every label format's reader resolves names
  unchanged; each worker copies a video (and a fake's original) to a local temporary file
  for decoding. ``remote_of`` maps mirrored paths back to the remote names.
- **Shards**: a worker writes its shards in a local temporary folder with a unique prefix
  (``tracks_<bundle>-NNNNN.tfrecord``) and uploads each one whole (an object appears only
  once its upload completes), then a manifest fragment ``manifest.d/<shard>.json``.
- **Driver files**: the driver merges the fragments into ``manifest.jsonl`` and writes it,
  ``failures.csv``, ``unlabelled.txt`` and ``summary.json`` whole, from a local staging
  folder. At the start it merges fragments a killed run left and deletes shards no manifest
  line or fragment names (their videos are redone).
- **Lock**: ``.tfdeepfake.lock`` is an object holding who runs; a run refuses to start while
  it exists. Object stores cannot create it atomically, so this catches a second run
  started by mistake, not two started in the same second: one driver per output folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from tfdeepfake.pipelines.runners import local_copy

FRAGMENTS = "manifest.d"
REMOTE_LOCK = ".tfdeepfake.lock"
DRIVER_FILES = ("failures.csv", "unlabelled.txt", "summary.json")


def _fs():
    from apache_beam.io.filesystems import FileSystems

    return FileSystems


def join(url: str, *parts: str) -> str:
    return "/".join([url.rstrip("/"), *parts])


def exists(url: str) -> bool:
    return _fs().exists(url)


def read_bytes(url: str) -> bytes:
    from apache_beam.io.filesystems import CompressionTypes

    with _fs().open(url, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        return handle.read()


def write_bytes(url: str, data: bytes) -> None:
    """Write an object whole (on an object store it appears when the upload completes)."""
    from apache_beam.io.filesystems import CompressionTypes

    with _fs().create(url, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        handle.write(data)


def upload(local: str | os.PathLike, url: str) -> None:
    from apache_beam.io.filesystems import CompressionTypes

    with open(local, "rb") as source, _fs().create(
        url, compression_type=CompressionTypes.UNCOMPRESSED
    ) as target:
        shutil.copyfileobj(source, target, 1 << 20)


def listing(url: str) -> list[str]:
    """Every object below the folder ``url`` (full names)."""
    return sorted(m.path for m in _fs().match([join(url, "**")])[0].metadata_list)


def delete(urls: list[str]) -> None:
    if urls:
        _fs().delete(urls)


# -- input ------------------------------------------------------------------------------------

@contextlib.contextmanager
def mirrored_input(input_url: str, labels: str | None) -> Iterator[tuple[Path, Path | None]]:
    """``(local folder, local labels file)`` standing for a remote input folder and labels."""
    with tempfile.TemporaryDirectory(prefix="tfdeepfake-listing-") as tmp:
        root = Path(tmp) / "input"
        root.mkdir()
        names = listing(input_url)
        if not names:
            raise FileNotFoundError(f"Input {input_url} does not exist or holds no files; "
                                    "give a folder of videos.")
        for name in names:
            local = root / name[len(input_url.rstrip("/")) + 1:]
            local.parent.mkdir(parents=True, exist_ok=True)
            local.touch()
        local_labels = None
        if labels is not None:
            if not exists(labels):
                raise FileNotFoundError(f"Labels file {labels} does not exist.")
            inside = labels.startswith(input_url.rstrip("/") + "/")
            local_labels = (root / labels[len(input_url.rstrip("/")) + 1:] if inside
                            else Path(tmp) / "labels" / labels.rsplit("/", 1)[-1])
            local_labels.parent.mkdir(parents=True, exist_ok=True)
            local_labels.write_bytes(read_bytes(labels))
        yield root, local_labels


def remote_of(path, mirror: Path, input_url: str) -> str:
    """The remote name of a path in the mirror (other paths unchanged)."""
    try:
        return join(input_url, Path(path).relative_to(mirror).as_posix())
    except ValueError:
        return str(path)


@contextlib.contextmanager
def local_video(url: str) -> Iterator[Path]:
    """A local copy of a remote video, or a path that does not exist when it is missing
    (extraction then reports it as ``missing``, as for a local file)."""
    if exists(url):
        with local_copy(url) as local:
            yield Path(local)
    else:
        yield Path(tempfile.gettempdir()) / f"missing-{uuid.uuid4().hex}" / url.rsplit("/", 1)[-1]


# -- shards -----------------------------------------------------------------------------------

def done_videos(out_url: str) -> set[str]:
    """Videos in the manifest and in fragments not merged yet."""
    return {v for entry in manifest_entries(out_url) for v in entry.get("videos", [])}


def manifest_entries(out_url: str) -> list[dict]:
    """``manifest.jsonl``'s entries followed by the fragments' (the manifest as it stands)."""
    entries = []
    if exists(join(out_url, "manifest.jsonl")):
        text = read_bytes(join(out_url, "manifest.jsonl")).decode("utf-8")
        entries = [json.loads(line) for line in text.splitlines() if line.strip()]
    listed = {entry["shard"] for entry in entries}
    for name in listing(join(out_url, FRAGMENTS)):  # one already merged is skipped
        entry = json.loads(read_bytes(name))
        if entry["shard"] not in listed:
            entries.append(entry)
    return entries


def upload_shards(local_dir: Path, out_url: str) -> None:
    """Upload a worker's completed shards whole, each followed by its manifest fragment."""
    from tfrecords_tools.writer import read_manifest

    for entry in read_manifest(local_dir):
        upload(local_dir / entry["shard"], join(out_url, entry["shard"]))
        write_bytes(join(out_url, FRAGMENTS, entry["shard"] + ".json"),
                    json.dumps(entry).encode("utf-8"))


def pull(out_url: str, stage: Path) -> None:
    """Bring the output folder's state into ``stage``: the merged manifest and
    failures.csv; shards that no entry names (a killed upload) are deleted."""
    entries = manifest_entries(out_url)
    listed = {entry["shard"] for entry in entries}
    delete([name for name in listing(out_url)
            if name.endswith(".tfrecord") and name.rsplit("/", 1)[-1] not in listed])
    (stage / "manifest.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries))
    if exists(join(out_url, "failures.csv")):
        (stage / "failures.csv").write_bytes(read_bytes(join(out_url, "failures.csv")))


def push(stage: Path, out_url: str) -> None:
    """Write the merged manifest and the driver's files whole, then drop the fragments."""
    fragments = listing(join(out_url, FRAGMENTS))
    entries = manifest_entries(out_url)
    write_bytes(join(out_url, "manifest.jsonl"),
                "".join(json.dumps(e) + "\n" for e in entries).encode("utf-8"))
    delete(fragments)
    for name in DRIVER_FILES:
        if (stage / name).exists():
            upload(stage / name, join(out_url, name))
        elif exists(join(out_url, name)):
            delete([join(out_url, name)])


@contextlib.contextmanager
def remote_lock(out_url: str) -> Iterator[None]:
    """The output folder's lock object for the duration of the block (see module docstring)."""
    from tfdeepfake.safeio import FolderBusyError

    lock = join(out_url, REMOTE_LOCK)
    if exists(lock):
        holder = read_bytes(lock).decode("utf-8", "replace").strip()
        raise FolderBusyError(
            f"{out_url} is in use by another extraction ({lock}: {holder}). Wait for that run "
            "to finish; if none is running (a driver that was killed), delete that object.")
    write_bytes(lock, json.dumps({"host": socket.gethostname(), "pid": os.getpid(),
                                  "since": time.strftime("%Y-%m-%dT%H:%M:%S")}).encode())
    try:
        yield
    finally:
        delete([lock])
