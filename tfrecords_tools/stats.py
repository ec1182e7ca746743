"""Count what shards hold (by label, dataset and split) and describe each shard."""

from __future__ import annotations

import collections
import dataclasses
import os

import tensorflow as tf

from tfdeepfake.safeio import decode_text
from tfrecords_tools.reader import DataSource, list_shards
from tfrecords_tools.schema import CONTEXT_FEATURES

LABEL_NAMES = {0: "real", 1: "fake", -1: "unknown"}
_COUNT_KEYS = ("label", "dataset", "split")


@dataclasses.dataclass
class ShardInfo:
    """One shard: its path, size, records, frames, videos and label counts."""

    path: str
    bytes: int
    records: int
    frames: int
    videos: int
    labels: dict[str, int]


def _context_and_length(serialized: tf.Tensor) -> tuple[dict, tf.Tensor]:
    context, _, lengths = tf.io.parse_sequence_example(
        serialized[None],
        context_features=CONTEXT_FEATURES,
        sequence_features={"frame_index": tf.io.FixedLenSequenceFeature([], tf.int64)},
    )
    return {k: v[0] for k, v in context.items()}, lengths["frame_index"][0]


def shard_info(path: str) -> ShardInfo:
    """Describe one shard (reads its records' context, not the images)."""
    frames, videos, labels = 0, set(), collections.Counter()
    records = 0
    for raw in tf.data.TFRecordDataset(path):
        context, n = _context_and_length(raw)
        records += 1
        frames += int(n)
        videos.add(context["video_id"].numpy())
        labels[LABEL_NAMES.get(int(context["label"]), str(int(context["label"])))] += 1
    return ShardInfo(path, os.path.getsize(path), records, frames, len(videos), dict(labels))


def collect_stats(data: DataSource) -> dict:
    """Counts of tracks, frames and videos in total and by label, dataset and split.

    Returns ``{"shards", "bytes", "tracks", "frames", "videos", "with_masks",
    "by_label": {name: {"tracks", "frames", "videos"}}, "by_dataset": ..., "by_split": ...}``.
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
    for path in files:
        for raw in tf.data.TFRecordDataset(path):
            context, n = _context_and_length(raw)
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
    return total
