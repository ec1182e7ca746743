"""Count what shards hold (by label, dataset and split) and describe each shard.

Damaged records do not stop the count: each is noted as a ``Damage`` (shard, record, what)
and the counts cover the records that could be read.
"""

from __future__ import annotations

import collections
import dataclasses
import os

import tensorflow as tf

from tfdeepfake.safeio import decode_text
from tfrecords_tools.reader import DataSource, list_shards, record_end, scan_shard
from tfrecords_tools.schema import CONTEXT_FEATURES

LABEL_NAMES = {0: "real", 1: "fake", -1: "unknown"}
_COUNT_KEYS = ("label", "dataset", "split")


@dataclasses.dataclass
class Damage:
    """Records that could not be counted: the shard, the first one's number and byte offset,
    how many were lost, and why."""

    path: str
    record: int
    offset: int
    lost: int
    reason: str

    def __str__(self) -> str:
        where = f"{self.path}: record {self.record} (byte offset {self.offset})"
        return f"{where}: {self.reason} ({self.lost} record(s) not counted)"


@dataclasses.dataclass
class ShardInfo:
    """One shard: its path, size, records, frames, videos, label counts and damage."""

    path: str
    bytes: int
    records: int
    frames: int
    videos: int
    labels: dict[str, int]
    damage: list[Damage] = dataclasses.field(default_factory=list)


def _context_and_length(serialized: tf.Tensor) -> tuple[dict, tf.Tensor]:
    context, _, lengths = tf.io.parse_sequence_example(
        serialized[None],
        context_features=CONTEXT_FEATURES,
        sequence_features={"frame_index": tf.io.FixedLenSequenceFeature([], tf.int64)},
    )
    return {k: v[0] for k, v in context.items()}, lengths["frame_index"][0]


def readable_tracks(path: str, damage: list[Damage]):
    """Yield ``(raw, context, length)`` of each readable track record of one shard.

    A record that is not a track is noted in ``damage`` and passed over. A bad checksum or
    a truncation is noted and ends the shard: TensorFlow's reader cannot find the next
    record after one, so the rest of the shard is counted as lost.
    """
    framed = scan_shard(path, strict=False)  # (offset, length) of each whole record
    # Byte offset of each record, and where a truncated one after the last whole one starts.
    starts = [o for o, _ in framed] + [record_end(*framed[-1]) if framed else 0]
    records = iter(tf.data.TFRecordDataset(path))
    index = 0
    while True:
        offset = starts[min(index, len(framed))]
        try:
            raw = next(records)
        except StopIteration:
            return
        except tf.errors.DataLossError:
            reason = "bad checksum" if index < len(framed) else "truncated"
            lost = max(len(framed) - index, 1)
            damage.append(Damage(path, index, offset, lost, f"{reason}; the rest of the shard "
                                 "cannot be read"))
            return
        try:
            context, n = _context_and_length(raw)
        except tf.errors.InvalidArgumentError:
            damage.append(Damage(path, index, offset, 1, "not a track SequenceExample"))
        else:
            yield raw, context, n
        index += 1


def shard_info(path: str) -> ShardInfo:
    """Describe one shard (reads its records' context, not the images)."""
    frames, videos, labels = 0, set(), collections.Counter()
    records = 0
    damage: list[Damage] = []
    for _, context, n in readable_tracks(path, damage):
        records += 1
        frames += int(n)
        videos.add(context["video_id"].numpy())
        labels[LABEL_NAMES.get(int(context["label"]), str(int(context["label"])))] += 1
    return ShardInfo(
        path, os.path.getsize(path), records, frames, len(videos), dict(labels), damage
    )


def collect_stats(data: DataSource) -> dict:
    """Counts of tracks, frames and videos in total and by label, dataset and split.

    Returns ``{"shards", "bytes", "tracks", "frames", "videos", "with_masks",
    "by_label": {name: {"tracks", "frames", "videos"}}, "by_dataset": ..., "by_split": ...,
    "damaged": [{"path", "record", "offset", "lost", "reason"}]}``; the counts cover
    readable records only.
    """
    files = list_shards(data)
    total = {
        "shards": len(files),
        "bytes": sum(os.path.getsize(f) for f in files),
        "tracks": 0,
        "frames": 0,
        "videos": 0,
        "with_masks": 0,
    }
    groups = {
        k: collections.defaultdict(lambda: {"tracks": 0, "frames": 0, "videos": set()})
        for k in _COUNT_KEYS
    }
    videos = set()
    mask_spec = {"mask": tf.io.FixedLenSequenceFeature([], tf.string)}
    damage: list[Damage] = []
    for path in files:
        for raw, context, n in readable_tracks(path, damage):
            _, seq = tf.io.parse_single_sequence_example(raw, sequence_features=mask_spec)
            vid = decode_text(context["video_id"].numpy())
            values = {
                "label": LABEL_NAMES.get(int(context["label"]), str(int(context["label"]))),
                "dataset": decode_text(context["dataset"].numpy()) or "(none)",
                "split": decode_text(context["split"].numpy()) or "(none)",
            }
            for key, value in values.items():
                g = groups[key][value]
                g["tracks"] += 1
                g["frames"] += int(n)
                g["videos"].add(vid)
            videos.add(vid)
            total["tracks"] += 1
            total["frames"] += int(n)
            total["with_masks"] += int(bool(tf.reduce_any(tf.strings.length(seq["mask"]) > 0)))
    total["videos"] = len(videos)
    for key in _COUNT_KEYS:
        total[f"by_{key}"] = {
            value: {**g, "videos": len(g["videos"])} for value, g in sorted(groups[key].items())
        }
    total["damaged"] = [dataclasses.asdict(d) for d in damage]
    return total
