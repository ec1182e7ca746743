"""Pre-flight checks of the shards, balanced real/fake sampling, memory-bounded shuffle buffers.

Shuffle buffer memory: a buffer holds *encoded* frames (JPEG + PNG bytes, before decoding),
so its memory is ``buffer elements x mean bytes per encoded element``. ``shuffle_buffer_size``
inverts that for a budget: ``elements = budget_bytes // bytes_per_element``, clipped to
``[min_elements, max_elements]``. The mean bytes per frame come from the manifest (record
bytes / frames) or, without one, from the shard sizes and a 32-frame guess. A balanced
pipeline has two buffers (real, fake), each given half the budget.
"""

from __future__ import annotations

import os
from pathlib import Path

import tensorflow as tf

from tfrecords_tools.schema import CONTEXT_FEATURES
from tfrecords_tools.writer import read_manifest

DEFAULT_SHUFFLE_MEMORY = 256 * 2**20  # bytes per input pipeline


def manifest_tracks(files: list[str]) -> list[dict] | None:
    """Manifest track summaries (with ``shard``) of exactly ``files``; None if any is unlisted."""
    by_folder: dict[Path, dict[str, dict]] = {}
    tracks = []
    for f in files:
        folder = Path(f).parent
        if folder not in by_folder:
            by_folder[folder] = {e["shard"]: e for e in read_manifest(folder)}
        entry = by_folder[folder].get(Path(f).name)
        if entry is None:
            return None
        tracks += [{**t, "shard": f} for t in entry.get("tracks", [])]
    return tracks


def scan_tracks(files: list[str]) -> list[dict]:
    """Label and frame count of every track, read from the shards (for folders without a
    manifest; reads every record once; unreadable records are left to the reader to report)."""
    context = {"label": CONTEXT_FEATURES["label"]}
    sequence = {"frame_index": tf.io.FixedLenSequenceFeature([], tf.int64)}

    def summary(raw):
        ctx, _, lengths = tf.io.parse_sequence_example(
            raw, context_features=context, sequence_features=sequence
        )
        return ctx["label"], lengths["frame_index"], tf.strings.length(raw)

    tracks = []
    for f in files:
        ds = tf.data.TFRecordDataset(f).batch(1024).map(summary).ignore_errors()
        for labels, frames, sizes in ds.as_numpy_iterator():
            tracks += [
                {"label": int(a), "frames": int(b), "bytes": int(c), "shard": f}
                for a, b, c in zip(labels, frames, sizes)
            ]
    return tracks


def preflight(
    files: list[str], *, training: bool, balance: bool, min_frames: int = 1, what: str = "data"
) -> dict:
    """Fail before training on label-free shards, a missing class, or too-short tracks.

    Reads the manifest when it lists the files; otherwise, in training, scans the shards
    (``scan_tracks``). Returns ``{"tracks", "real", "fake", "short", "bytes_per_frame"}``
    (None values when unknown).
    """
    tracks = manifest_tracks(files)
    size = sum(os.path.getsize(f) for f in files)
    if tracks is None and training:
        tracks = scan_tracks(files)
    if tracks is None:
        return {
            "tracks": None,
            "real": None,
            "fake": None,
            "short": None,
            "bytes_per_frame": max(1, size // max(1, 32 * len(files))),
        }
    if training:
        unlabelled = sorted({Path(t["shard"]).name for t in tracks if t["label"] < 0})
        if unlabelled:
            raise ValueError(
                f"{what}: shard(s) {', '.join(unlabelled)} hold tracks without a label (-1, "
                "written for inference); training needs labels. Re-extract them with "
                "`tfdeepfake extract --labels FILE` or move them out of the training folder."
            )
    usable = [t for t in tracks if t["frames"] >= min_frames]
    short = len(tracks) - len(usable)
    if tracks and not usable:
        longest = max(t["frames"] for t in tracks)
        raise ValueError(
            f"{what}: every track is shorter than the {min_frames} frames a clip needs (the "
            f"longest has {longest}). Extract more frames per video (`tfdeepfake extract "
            "--frames N`) or use a shorter clip_len / a frame model."
        )
    real = sum(t["label"] == 0 for t in usable)
    fake = sum(t["label"] == 1 for t in usable)
    if training and balance and (real == 0 or fake == 0):
        raise ValueError(
            f"{what}: balanced training needs real and fake tracks, found {real} real and "
            f"{fake} fake. Add shards of the missing class or pass balance=False."
        )
    frames = sum(t["frames"] for t in tracks)
    record_bytes = sum(t.get("bytes", 0) for t in tracks) or size
    return {
        "tracks": len(tracks),
        "real": real,
        "fake": fake,
        "short": short,
        "bytes_per_frame": max(1, record_bytes // max(1, frames)),
    }


def shuffle_buffer_size(
    bytes_per_element: int,
    memory_bytes: int = DEFAULT_SHUFFLE_MEMORY,
    min_elements: int = 16,
    max_elements: int = 100_000,
) -> int:
    """Elements a shuffle buffer may hold within ``memory_bytes`` (see the module docstring)."""
    if bytes_per_element <= 0 or memory_bytes <= 0:
        raise ValueError("bytes_per_element and memory_bytes must be positive.")
    return int(min(max_elements, max(min_elements, memory_bytes // bytes_per_element)))


def balanced(real: tf.data.Dataset, fake: tf.data.Dataset, seed: int) -> tf.data.Dataset:
    """Draw from two (repeated) streams with equal probability; ends when either is empty."""
    return tf.data.Dataset.sample_from_datasets(
        [real, fake], weights=[0.5, 0.5], seed=seed, stop_on_empty_dataset=True
    )
