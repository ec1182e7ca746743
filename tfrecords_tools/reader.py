"""Read track shards back as tf.data datasets (per track or per frame), with corruption checks.

Corruption is caught in two places:

* when the dataset is built, each shard's record headers are walked (a few bytes per record,
  no data read): a truncated shard or an impossible record length raises
  ``CorruptShardError`` naming the file, the record number and its byte offset;
* while reading, a record whose CRC or protobuf is bad raises ``tf.errors.InvalidArgumentError``
  whose message names the file, the record number and its byte offset. With
  ``skip_corrupt=True`` bad records are skipped instead, logged to stderr and counted in a
  ``ReadStats``. TensorFlow's record reader cannot resynchronise after a bad CRC, so the
  records after it in the same shard are skipped (and counted) too.
"""

from __future__ import annotations

import logging
import os
import struct
import sys
from collections.abc import Sequence
from pathlib import Path

import tensorflow as tf

from tfdeepfake.safeio import glob_files
from tfrecords_tools.schema import parse_track
from tfrecords_tools.writer import SHARD_SUFFIX

log = logging.getLogger(__name__)

_HEADER = 12  # uint64 length + uint32 masked CRC of the length
_FOOTER = 4  # uint32 masked CRC of the data

DataSource = str | os.PathLike | Sequence[str | os.PathLike]


class CorruptShardError(ValueError):
    """A shard is truncated or malformed; ``path``, ``record`` and ``offset`` say where."""

    def __init__(self, path: str, record: int, offset: int, reason: str):
        self.path, self.record, self.offset, self.reason = str(path), record, offset, reason
        super().__init__(
            f"{path}: record {record} (byte offset {offset}) is corrupt: {reason}. "
            "Run `tfrecords-tools validate` on the folder, then delete or re-extract that "
            "shard, or skip bad records (`--skip-corrupt` in tfdeepfake train/evaluate, "
            "skip_corrupt=True in Python)."
        )


def list_shards(data: DataSource) -> list[str]:
    """Shard paths from a folder, a glob pattern, a file, or a list of those; sorted.

    A ``**`` pattern matches at any depth and follows symlinked folders, each real folder
    once (the project's one rule, ``tfdeepfake.safeio.glob_files``): a link loop ends.

    Raises ``FileNotFoundError`` naming the input when nothing matches.
    """
    if isinstance(data, (list, tuple)):
        if not data:
            raise FileNotFoundError("Empty list of shard paths given; pass a folder of shards.")
        return sorted({p for item in data for p in list_shards(item)})
    text = os.fspath(data)
    path = Path(text)
    if path.is_dir():
        found = sorted(str(p) for p in path.glob(f"*{SHARD_SUFFIX}") if p.is_file())
        where = f"folder {text!r} has no *{SHARD_SUFFIX} shards"
    elif path.is_file():
        found = [str(path)]
        where = ""
    else:
        found = glob_files(text)
        where = f"{text!r} is not a folder or file and matches no files"
    if not found:
        raise FileNotFoundError(
            f"No TFRecord shards: {where}. Write shards with `tfdeepfake extract ... --out DIR` "
            "and pass that DIR."
        )
    return found


def scan_shard(path: str | os.PathLike, strict: bool = True) -> list[tuple[int, int]]:
    """(byte offset, data length) of every record, from the headers alone (no CRC check).

    A truncated file or a length that overruns it raises ``CorruptShardError``; with
    ``strict=False`` the whole records before the damage are returned instead.
    """
    path = str(path)
    size = os.path.getsize(path)
    records = []
    offset = 0
    with open(path, "rb") as handle:
        while offset < size:
            reason = "truncated record header"
            if size - offset >= _HEADER:
                handle.seek(offset)
                (length,) = struct.unpack("<Q", handle.read(8))
                end = record_end(offset, length)
                if end <= size:
                    records.append((offset, length))
                    offset = end
                    continue
                reason = f"record of {length} bytes runs past the end of the file ({size} bytes)"
            if strict:
                raise CorruptShardError(path, len(records), offset, reason)
            break
    return records


def record_end(offset: int, length: int) -> int:
    """Byte offset just past a record at ``offset`` holding ``length`` data bytes."""
    return offset + _HEADER + length + _FOOTER


class ReadStats:
    """Counts records skipped by a ``skip_corrupt=True`` dataset (read ``skipped`` after use)."""

    def __init__(self):
        self._skipped = tf.Variable(0, dtype=tf.int64, trainable=False, name="skipped_records")

    @property
    def skipped(self) -> int:
        """Records skipped so far."""
        return int(self._skipped.numpy())

    def _add(self, n: tf.Tensor) -> tf.Tensor:
        return self._skipped.assign_add(n)


def shard_files(files: list[str], input_context: tf.distribute.InputContext | None) -> list[str]:
    """This input pipeline's share of the files (file-level sharding, before interleave)."""
    if input_context is None or input_context.num_input_pipelines <= 1:
        return files
    n, i = input_context.num_input_pipelines, input_context.input_pipeline_id
    if len(files) < n:
        raise ValueError(
            f"{len(files)} shard(s) cannot feed {n} input pipelines (one per worker); write "
            "smaller shards (ShardedWriter max_shard_bytes / `tfdeepfake extract "
            "--shard-mb`) so there are at least as many shards as workers."
        )
    return files[i::n]


def _checked_file(path, offsets, skip_corrupt: bool, stats: ReadStats | None):
    """Dataset of parsed tracks of one file, raising (or skipping) with file + record named."""
    n_records = tf.shape(offsets, out_type=tf.int64)[0]

    def parse(index, serialized):
        return index, parse_track(serialized)

    # Bad protobufs fail in `parse` and bad CRCs in the reader; both vanish in ignore_errors
    # and show up as a gap in the record numbers (a sentinel with index n_records marks the end).
    good = tf.data.TFRecordDataset(path).enumerate().map(parse).ignore_errors()
    example = good.element_spec[1]
    blank = {
        k: tf.zeros([d if d is not None else 0 for d in s.shape], s.dtype)
        for k, s in example.items()
    }
    sentinel = tf.data.Dataset.from_tensors((n_records, blank))

    def check(expected, element):
        index, track = element
        missing = index - expected
        where = tf.gather(tf.concat([offsets, [-1]], 0), tf.minimum(expected, n_records))
        message = tf.strings.format(
            "Corrupt TFRecord {}: {} record(s) unreadable from record {} (byte offset {}) on "
            "(bad CRC, truncated, or not a track SequenceExample). Run `tfrecords-tools "
            "validate`, or skip bad records (`--skip-corrupt` in tfdeepfake train/evaluate, "
            "skip_corrupt=True in Python).",
            (path, missing, expected, where),
            summarize=-1,
        )
        if skip_corrupt:

            def log_and_count():
                ops = [tf.print("WARNING skipping:", message, output_stream=sys.stderr)]
                if stats is not None:
                    ops.append(stats._add(missing))
                with tf.control_dependencies(ops):
                    return tf.identity(missing)

            done = tf.cond(missing > 0, log_and_count, lambda: missing)
            with tf.control_dependencies([done]):
                return index + 1, (index, track)
        check_op = tf.debugging.Assert(missing == 0, [message])
        with tf.control_dependencies([check_op]):
            return index + 1, (index, track)

    checked = good.concatenate(sentinel).scan(tf.constant(0, tf.int64), check)
    checked = checked.filter(lambda index, track: index < n_records)
    return checked.map(lambda index, track: {**track, "shard": path, "record_index": index})


def track_dataset(
    data: DataSource,
    *,
    input_context: tf.distribute.InputContext | None = None,
    shuffle_files: bool = False,
    seed: int = 0,
    skip_corrupt: bool = False,
    stats: ReadStats | None = None,
    cycle_length: int = 4,
) -> tf.data.Dataset:
    """Parsed tracks (dicts of ``schema.parse_track`` plus ``shard`` and ``record_index``).

    Files are sharded by ``input_context`` first, then optionally shuffled (by ``seed``), then
    read ``cycle_length`` at a time, interleaved in parallel (deterministic order). Images stay
    JPEG-encoded. See the module docstring for how corrupt records are reported.
    """
    files = shard_files(list_shards(data), input_context)
    scans = []
    for f in files:
        try:
            scans.append(scan_shard(f))
        except CorruptShardError as err:
            if not skip_corrupt:
                raise
            log.warning("WARNING skipping the damaged tail of a shard: %s", err)
            scans.append(scan_shard(f, strict=False))
            if stats is not None:
                stats._add(tf.constant(1, tf.int64))
    offsets = (
        tf.ragged.constant(
            [[o for o, _ in s] for s in scans], dtype=tf.int64, ragged_rank=1, inner_shape=()
        )
        if files
        else None
    )
    ds = tf.data.Dataset.from_tensor_slices((files, offsets))
    if shuffle_files:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    return ds.interleave(
        lambda path, offs: _checked_file(path, offs, skip_corrupt, stats),
        cycle_length=max(1, min(cycle_length, len(files))),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )


def track_frames(track: dict[str, tf.Tensor]) -> tf.data.Dataset:
    """One element per frame of a parsed track: context keys repeated, per-frame keys sliced."""
    n = tf.shape(track["image"])[0]
    per_frame = ("image", "frame_index", "box", "landmarks", "score", "mask")
    sliced = {k: track[k] for k in per_frame}
    repeated = {
        k: tf.repeat(tf.expand_dims(v, 0), n, axis=0)
        for k, v in track.items()
        if k not in per_frame
    }
    return tf.data.Dataset.from_tensor_slices({**repeated, **sliced})


def decode_frame(frame: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """Decode a frame's JPEG crop (uint8 RGB) and PNG mask (uint8, (S, S, 1); zeros if none).

    Adds ``has_mask`` (bool): whether the frame stored a mask.
    """
    image = tf.io.decode_jpeg(frame["image"], channels=3)
    size = tf.shape(image)[:2]
    has_mask = tf.strings.length(frame["mask"]) > 0
    mask = tf.cond(
        has_mask,
        lambda: tf.io.decode_png(frame["mask"], channels=1),
        lambda: tf.zeros(tf.concat([size, [1]], 0), tf.uint8),
    )
    return {**frame, "image": image, "mask": mask, "has_mask": has_mask}


def frame_dataset(data: DataSource, *, decode: bool = True, **kwargs) -> tf.data.Dataset:
    """One element per frame (dicts as ``track_frames``); ``decode`` turns JPEG/PNG into uint8.

    Keyword arguments go to ``track_dataset``.
    """
    ds = track_dataset(data, **kwargs).flat_map(track_frames)
    if decode:
        ds = ds.map(decode_frame, num_parallel_calls=tf.data.AUTOTUNE)
    return ds
