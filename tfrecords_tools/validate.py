"""Check shards record by record: framing and CRC, schema, decodable images, the manifest."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

import tensorflow as tf

from tfdeepfake.safeio import decode_text
from tfrecords_tools.reader import CorruptShardError, DataSource, list_shards, scan_shard
from tfrecords_tools.schema import LABEL_FAKE, LABEL_REAL, LABEL_UNKNOWN, parse_track
from tfrecords_tools.writer import MANIFEST_NAME, read_manifest

_PER_FRAME = ("frame_index", "box", "landmarks", "score", "mask")


@dataclasses.dataclass
class Problem:
    """One thing wrong: where (file, record number, byte offset; -1 if not a record) and what."""

    path: str
    record: int
    offset: int
    kind: str
    message: str

    def __str__(self) -> str:
        where = (
            self.path
            if self.record < 0
            else (f"{self.path}: record {self.record} (byte offset {self.offset})")
        )
        return f"{where}: [{self.kind}] {self.message}"


@dataclasses.dataclass
class ValidationReport:
    """What ``validate_shards`` found; ``ok`` is True when there are no problems."""

    shards: int = 0
    records: int = 0
    frames: int = 0
    problems: list[Problem] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _check_track(track: dict, check_images: bool) -> list[tuple[str, str]]:
    """Schema checks of one parsed track; (kind, message) pairs."""
    issues = []
    n = int(tf.shape(track["image"])[0])
    if n == 0:
        issues.append(("schema", "track has no frames"))
    for key in _PER_FRAME:
        m = int(tf.shape(track[key])[0])
        if m != n:
            issues.append(("schema", f"feature list {key!r} has {m} entries, 'image' has {n}"))
    label = int(track["label"])
    if label not in (LABEL_REAL, LABEL_FAKE, LABEL_UNKNOWN):
        issues.append(("schema", f"label {label} is not 0, 1 or -1"))
    size = int(track["crop_size"])
    if not check_images:
        return issues
    for i, (image, mask) in enumerate(zip(track["image"].numpy(), track["mask"].numpy())):
        try:
            shape = tuple(tf.io.decode_jpeg(image, channels=3).shape)
        except tf.errors.InvalidArgumentError:
            issues.append(("image", f"frame {i}: crop is not a decodable JPEG"))
            continue
        if shape != (size, size, 3):
            issues.append(("image", f"frame {i}: crop is {shape}, crop_size says {size}"))
        if mask:
            try:
                mshape = tuple(tf.io.decode_png(mask, channels=1).shape)
            except tf.errors.InvalidArgumentError:
                issues.append(("mask", f"frame {i}: mask is not a decodable PNG"))
                continue
            if mshape[:2] != shape[:2]:
                issues.append(("mask", f"frame {i}: mask is {mshape[:2]}, crop is {shape[:2]}"))
    return issues


def validate_shard(path: str, check_images: bool = True) -> tuple[list[Problem], list[tuple]]:
    """Problems of one shard and the (video_id, track_id, frames) of its readable records."""
    problems, seen = [], []
    try:
        records = scan_shard(path)
    except CorruptShardError as err:
        problems.append(Problem(path, err.record, err.offset, "truncated", err.reason))
        records = scan_shard(path, strict=False)
    offsets = [o for o, _ in records]
    index = 0
    iterator = iter(tf.data.TFRecordDataset(path))
    while index < len(records):
        try:
            serialized = next(iterator)
        except StopIteration:
            break
        except tf.errors.DataLossError:
            problems.append(
                Problem(
                    path,
                    index,
                    offsets[index],
                    "crc",
                    f"bad checksum; {len(records) - index - 1} record(s) after "
                    "it in this shard cannot be read either",
                )
            )
            break
        try:
            track = parse_track(serialized)
        except tf.errors.InvalidArgumentError as err:
            problems.append(
                Problem(
                    path,
                    index,
                    offsets[index],
                    "schema",
                    f"not a track SequenceExample: {err.message.splitlines()[0][:200]}",
                )
            )
            index += 1
            continue
        for kind, message in _check_track(track, check_images):
            problems.append(Problem(path, index, offsets[index], kind, message))
        seen.append(
            (
                decode_text(track["video_id"].numpy()),
                int(track["track_id"]),
                int(tf.shape(track["image"])[0]),
            )
        )
        index += 1
    return problems, seen


def _check_manifest(folder: Path, shard_tracks: dict[str, list[tuple]]) -> list[Problem]:
    """Compare the folder's manifest with what the shards hold."""
    problems = []
    manifest_path = folder / MANIFEST_NAME
    if not manifest_path.exists():
        return [
            Problem(
                str(manifest_path),
                -1,
                -1,
                "manifest",
                "no manifest: a re-run cannot resume (shards not made by ShardedWriter?)",
            )
        ]
    try:
        entries = {e["shard"]: e for e in read_manifest(folder)}
    except ValueError as err:
        return [Problem(str(manifest_path), -1, -1, "manifest", str(err))]
    for name, tracks in shard_tracks.items():
        entry = entries.pop(name, None)
        path = str(folder / name)
        if entry is None:
            problems.append(Problem(path, -1, -1, "manifest", "shard is not in the manifest"))
            continue
        listed = [(t["video_id"], t["track_id"]) for t in entry.get("tracks", [])]
        if listed != [(v, t) for v, t, _ in tracks]:
            problems.append(
                Problem(
                    path,
                    -1,
                    -1,
                    "manifest",
                    f"manifest lists {len(listed)} track(s); {len(tracks)} "
                    "could be read, or their ids differ",
                )
            )
    for name in entries:
        if (folder / name).exists():
            continue  # a shard of this folder that was not asked for
        problems.append(
            Problem(
                str(folder / name),
                -1,
                -1,
                "manifest",
                "listed in the manifest but the shard file is missing",
            )
        )
    for tmp in folder.glob(".*.tfrecord.tmp"):
        problems.append(
            Problem(
                str(tmp),
                -1,
                -1,
                "leftover",
                "temporary of an unfinished or running writer (its tracks are "
                "not in the manifest and will be written again on resume)",
            )
        )
    return problems


def validate_shards(
    data: DataSource,
    *,
    check_images: bool = True,
    check_manifest: bool = True,
    progress: Callable[[str], None] | None = None,
) -> ValidationReport:
    """Validate every shard of ``data``; duplicated (video_id, track_id) pairs are problems too."""
    files = list_shards(data)
    report = ValidationReport(shards=len(files))
    by_folder: dict[Path, dict[str, list[tuple]]] = {}
    first_seen: dict[tuple[str, int], str] = {}
    for path in files:
        if progress:
            progress(path)
        problems, seen = validate_shard(path, check_images)
        report.problems += problems
        report.records += len(seen)
        report.frames += sum(n for *_, n in seen)
        by_folder.setdefault(Path(path).parent, {})[Path(path).name] = seen
        for video_id, track_id, _ in seen:
            key = (video_id, track_id)
            if key in first_seen:
                report.problems.append(
                    Problem(
                        path,
                        -1,
                        -1,
                        "duplicate",
                        f"track {video_id}/{track_id} also in {first_seen[key]}",
                    )
                )
            first_seen.setdefault(key, path)
    if check_manifest:
        for folder, shard_tracks in by_folder.items():
            if os.path.isdir(folder):
                report.problems += _check_manifest(folder, shard_tracks)
    return report
