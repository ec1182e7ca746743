"""A sharded, crash-safe, resumable TFRecord writer for face tracks.

Shards are written to a hidden temporary file and renamed to ``<prefix>-<NNNNN>.tfrecord``
only when complete, so a file with the ``.tfrecord`` suffix is always whole. Each completed
shard appends one JSON line to ``manifest.jsonl`` in the output folder listing the videos and
tracks it holds; a re-run reads the manifest and skips the videos already written. Tracks of
a shard that was open when a run died are not in the manifest and are written again.

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
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import tensorflow as tf

from tfrecords_tools.schema import SCHEMA_VERSION, TrackRecord, decode_track, encode_track

MANIFEST_NAME = "manifest.jsonl"
SHARD_SUFFIX = ".tfrecord"
_LOCK_NAME = ".manifest.lock"
_TMP_RE = re.compile(r"^\.(?P<prefix>.+)-pid(?P<pid>\d+)-[0-9a-f]+\.tfrecord\.tmp$")


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
        """Append one track (write a video's tracks one after another)."""
        record = encode_track(track)
        self._rotate_if_needed(len(record), track.video_id)
        self._open_if_needed()
        self._writer.write(record)
        self._bytes += len(record) + 16  # TFRecord framing: length, two CRCs
        self._pending.append(_summary(track, len(record)))
        if track.video_id not in self._pending_videos:
            self._pending_videos.append(track.video_id)
        self._last_video = track.video_id
        self.written += 1

    def write_video(self, video_id: str, tracks: Iterable[TrackRecord]) -> int:
        """Write all tracks of one video and mark it done, even with no tracks; returns count.

        Recording a video without tracks (e.g. no face found) keeps a re-run from redoing it.
        """
        n = 0
        for track in tracks:
            if track.video_id != video_id:
                raise ValueError(
                    f"write_video({video_id!r}) got a track of video {track.video_id!r}; "
                    "pass only that video's tracks."
                )
            self.write(track)
            n += 1
        if n == 0:
            self._open_if_needed()
            if video_id not in self._pending_videos:
                self._pending_videos.append(video_id)
        return n

    def flush(self) -> Path | None:
        """Complete the open shard now (rename it, record it in the manifest); its path."""
        if self._writer is None:
            return None
        self._writer.close()
        self._writer = None
        tmp, self._tmp_path = self._tmp_path, None
        with _locked(self.out_dir):
            index = self._next_index()
            final = self.out_dir / shard_name(self.prefix, index)
            os.replace(tmp, final)
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
        """Complete the open shard; the writer cannot be used afterwards."""
        if not self._closed:
            self.flush()
            self._closed = True

    def __enter__(self) -> ShardedWriter:
        return self

    def __exit__(self, *exc) -> None:
        # Every record already written is whole, so the shard is completed even on error.
        self.close()

    # -- internals --------------------------------------------------------------------------

    def _open_if_needed(self) -> None:
        if self._closed:
            raise RuntimeError("This ShardedWriter is closed; create a new one to write more.")
        if self._writer is None:
            tag = uuid.uuid4().hex[:8]
            self._tmp_path = self.out_dir / f".{self.prefix}-pid{os.getpid()}-{tag}.tfrecord.tmp"
            self._writer = tf.io.TFRecordWriter(str(self._tmp_path))

    def _rotate_if_needed(self, n_bytes: int, video_id: str) -> None:
        over = self._bytes > 0 and self._bytes + n_bytes + 16 > self.max_shard_bytes
        if over and video_id != self._last_video:
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
        """Delete temporaries of dead writer processes (their tracks get written again)."""
        for path in self.out_dir.iterdir():
            match = _TMP_RE.match(path.name)
            if match and not _pid_alive(int(match.group("pid"))):
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
