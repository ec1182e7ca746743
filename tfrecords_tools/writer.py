"""A sharded, crash-safe, resumable TFRecord writer for face tracks.

Shards are written to a hidden temporary file, fsynced and renamed to
``<prefix>-<NNNNN>.tfrecord`` only when complete, so a file with the ``.tfrecord`` suffix is
always whole. Each completed shard appends one JSON line to ``manifest.jsonl`` in the output
folder listing the videos and tracks it holds; a re-run reads the manifest and skips the
videos already written. Tracks of a shard that was open when a run died are not in the
manifest and are written again. ``write_video`` writes a video whole or not at all: its
tracks are encoded before any is written, and a shard that a write error left holding part
of a video is discarded, never completed.

Example::

    with ShardedWriter("shards/") as writer:
        for video_id, tracks in extracted_videos():
            if writer.has(video_id):
                continue
            writer.write_video(video_id, tracks)
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import socket
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import tensorflow as tf

from tfdeepfake.safeio import fsync_dir, fsync_file, safe_name
from tfrecords_tools.schema import SCHEMA_VERSION, TrackRecord, decode_track, encode_track

MANIFEST_NAME = "manifest.jsonl"
SHARD_SUFFIX = ".tfrecord"
_LOCK_NAME = ".manifest.lock"
_HOST = safe_name(socket.gethostname(), 40).replace("-", "_")
# Temporary shard names: .<prefix>-<host>-pid<pid>-<tag>.tfrecord.tmp (older: no host).
_TMP_RE = re.compile(
    r"^\.(?P<prefix>[A-Za-z0-9_.]+)-(?:(?P<host>[A-Za-z0-9_.]+)-)?pid(?P<pid>\d+)-[0-9a-f]+"
    r"\.tfrecord\.tmp$"
)


def shard_name(prefix: str, index: int) -> str:
    """File name of completed shard number ``index``."""
    return f"{prefix}-{index:05d}{SHARD_SUFFIX}"


def read_manifest(out_dir: str | os.PathLike) -> list[dict]:
    """The manifest entries (one dict per completed shard) of a shard folder; [] if none.

    A torn last line (a run killed while appending) is ignored; a torn line elsewhere raises.
    """
    path = Path(out_dir) / MANIFEST_NAME
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    entries = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            if i == len(lines) - 1:
                break
            raise ValueError(
                f"{path}: line {i + 1} is not valid JSON; fix or delete that line "
                "(its shard's videos will then be written again)."
            ) from None
    return entries


@contextlib.contextmanager
def _locked(out_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the folder's manifest (several writers may share a folder)."""
    with open(out_dir / _LOCK_NAME, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _summary(track: TrackRecord, n_bytes: int) -> dict:
    return {
        "video_id": track.video_id,
        "track_id": int(track.track_id),
        "label": int(track.label),
        "dataset": track.dataset,
        "split": track.split,
        "frames": len(track.crops),
        "has_mask": track.masks is not None,
        "bytes": n_bytes,
    }


class ShardedWriter:
    """Write ``TrackRecord`` s into size-bounded shards with a resumable manifest.

    Args:
        out_dir: output folder (created if missing).
        prefix: shard file name prefix.
        max_shard_bytes: a shard is closed before a record that would take it past this size,
            but only at a video boundary, so one video's tracks never straddle two shards (a
            single video larger than the bound gets a shard of its own).

    Attributes:
        done_ids: video ids in completed shards (from the manifest, including earlier runs).
        written: tracks written by this writer (completed and pending).
        shards: paths of the shards this writer completed.
    """

    def __init__(
        self,
        out_dir: str | os.PathLike,
        prefix: str = "tracks",
        max_shard_bytes: int = 64 * 2**20,
    ):
        if not re.fullmatch(r"[A-Za-z0-9_.]+", prefix):
            raise ValueError(f"prefix must be letters, digits, '_' or '.', got {prefix!r}.")
        if max_shard_bytes <= 0:
            raise ValueError(f"max_shard_bytes must be positive, got {max_shard_bytes}.")
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        self.max_shard_bytes = int(max_shard_bytes)
        self.written = 0
        self.shards: list[Path] = []
        self._writer: tf.io.TFRecordWriter | None = None
        self._tmp_path: Path | None = None
        self._pending: list[dict] = []
        self._pending_videos: list[str] = []
        self._bytes = 0
        self._last_video: str | None = None
        self._closed = False
        self._broken = False
        with _locked(self.out_dir):
            self._remove_stale_temporaries()
            self._adopt_orphans()
            self.done_ids: set[str] = {
                v for e in read_manifest(self.out_dir) for v in e.get("videos", [])
            }

    # -- public API -------------------------------------------------------------------------

    def has(self, video_id: str) -> bool:
        """True when the video is in a completed shard or was written by this writer."""
        return video_id in self.done_ids or video_id in self._pending_videos

    def write(self, track: TrackRecord) -> None:
        """Append one track as a whole unit (``write_video`` writes a video's tracks at once)."""
        self._write_records(track.video_id, [(track, encode_track(track))])

    def write_video(self, video_id: str, tracks: Iterable[TrackRecord]) -> int:
        """Write all tracks of one video and mark it done, even with no tracks; returns count.

        Whole or nothing: every track is encoded before the first is written, so a track
        that cannot be encoded leaves nothing of the video behind. Recording a video without
        tracks (e.g. no face found) keeps a re-run from redoing it.
        """
        encoded = []
        for track in tracks:
            if track.video_id != video_id:
                raise ValueError(
                    f"write_video({video_id!r}) got a track of video {track.video_id!r}; "
                    "pass only that video's tracks."
                )
            encoded.append((track, encode_track(track)))
        self._write_records(video_id, encoded)
        return len(encoded)

    def _write_records(self, video_id: str, encoded: list) -> None:
        size = sum(len(record) + 16 for _, record in encoded)  # framing: length, two CRCs
        if video_id != self._last_video:
            self._rotate_if_needed(size)
        self._open_if_needed()
        self._broken = True  # until every record of the video is in the file
        for track, record in encoded:
            self._writer.write(record)
            self._pending.append(_summary(track, len(record)))
        self._broken = False
        self._bytes += size
        if video_id not in self._pending_videos:
            self._pending_videos.append(video_id)
        self._last_video = video_id
        self.written += len(encoded)

    def flush(self) -> Path | None:
        """Complete the open shard now (rename it, record it in the manifest); its path."""
        if self._writer is None:
            return None
        self._writer.close()
        self._writer = None
        tmp, self._tmp_path = self._tmp_path, None
        fsync_file(tmp)  # the data is on disk before the manifest says it is done
        with _locked(self.out_dir):
            index = self._next_index()
            final = self.out_dir / shard_name(self.prefix, index)
            os.replace(tmp, final)
            fsync_dir(self.out_dir)
            entry = {
                "shard": final.name,
                "schema_version": SCHEMA_VERSION,
                "records": len(self._pending),
                "bytes": final.stat().st_size,
                "videos": list(self._pending_videos),
                "tracks": self._pending,
                "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
            }
            self._append_manifest(entry)
        self.done_ids.update(self._pending_videos)
        self.shards.append(final)
        self._pending, self._pending_videos, self._bytes = [], [], 0
        return final

    def close(self) -> None:
        """Complete the open shard; the writer cannot be used afterwards.

        A shard that a write error left holding part of a video is deleted instead (its
        videos are not in the manifest, so the next run writes them again).
        """
        if self._closed:
            return
        if self._broken:
            self._discard()
        else:
            self.flush()
        self._closed = True

    def _discard(self) -> None:
        self._writer.close()
        self._writer = None
        self._tmp_path.unlink(missing_ok=True)
        self._tmp_path = None
        self._pending, self._pending_videos, self._bytes = [], [], 0

    def __enter__(self) -> ShardedWriter:
        return self

    def __exit__(self, *exc) -> None:
        # The open shard holds whole videos only (unless a write broke one: then discarded),
        # so it is completed even when an exception is leaving.
        self.close()

    # -- internals --------------------------------------------------------------------------

    def _open_if_needed(self) -> None:
        if self._closed:
            raise RuntimeError("This ShardedWriter is closed; create a new one to write more.")
        if self._writer is None:
            tag = uuid.uuid4().hex[:8]
            name = f".{self.prefix}-{_HOST}-pid{os.getpid()}-{tag}.tfrecord.tmp"
            self._tmp_path = self.out_dir / name
            self._writer = tf.io.TFRecordWriter(str(self._tmp_path))

    def _rotate_if_needed(self, n_bytes: int) -> None:
        if self._bytes > 0 and self._bytes + n_bytes > self.max_shard_bytes:
            self.flush()

    def _next_index(self) -> int:
        pattern = re.compile(rf"^{re.escape(self.prefix)}-(\d+){re.escape(SHARD_SUFFIX)}$")
        taken = [int(m.group(1)) for p in self.out_dir.iterdir() if (m := pattern.match(p.name))]
        return max(taken, default=-1) + 1

    def _append_manifest(self, entry: dict) -> None:
        path = self.out_dir / MANIFEST_NAME
        # Drop a torn last line left by a run killed while appending (its shard is adopted).
        if path.exists() and path.stat().st_size:
            data = path.read_bytes()
            if not data.endswith(b"\n"):
                with open(path, "rb+") as handle:
                    handle.truncate(data.rfind(b"\n") + 1)
        with open(path, "a") as handle:
            handle.write(json.dumps(entry) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def _remove_stale_temporaries(self) -> None:
        """Delete temporaries of dead writer processes of this host (their tracks get written
        again); another host's temporaries are left alone (its pid means nothing here)."""
        for path in self.out_dir.iterdir():
            match = _TMP_RE.match(path.name)
            if not match or match.group("host") not in (None, _HOST):
                continue
            if not _pid_alive(int(match.group("pid"))):
                path.unlink(missing_ok=True)

    def _adopt_orphans(self) -> None:
        """Record completed shards missing from the manifest (a run killed after the rename)."""
        listed = {e["shard"] for e in read_manifest(self.out_dir)}
        for path in sorted(self.out_dir.glob(f"*{SHARD_SUFFIX}")):
            if path.name in listed:
                continue
            tracks, videos = [], []
            for raw in tf.data.TFRecordDataset(str(path)).as_numpy_iterator():
                track = decode_track(raw)
                tracks.append(_summary(track, len(raw)))
                if track.video_id not in videos:
                    videos.append(track.video_id)
            self._append_manifest(
                {
                    "shard": path.name,
                    "schema_version": SCHEMA_VERSION,
                    "records": len(tracks),
                    "bytes": path.stat().st_size,
                    "videos": videos,
                    "tracks": tracks,
                    "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
                    "adopted": True,
                }
            )
