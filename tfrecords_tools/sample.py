"""Dump face crops (and SSIM masks) from shards to PNG files for a look by eye."""

from __future__ import annotations

import os
from pathlib import Path

import tensorflow as tf

from tfdeepfake.safeio import decode_text, safe_name
from tfrecords_tools.reader import DataSource, ReadStats, frame_dataset


def dump_samples(
    data: DataSource,
    out_dir: str | os.PathLike,
    n: int = 16,
    seed: int = 0,
    skipped: ReadStats | None = None,
) -> list[Path]:
    """Write ``n`` crops as ``<video>_t<track>_f<frame>_<label>.png`` (+ ``_mask.png``).

    ``<video>`` is the video id made safe (``tfdeepfake.safeio.safe_name``): ids come from
    label files, so one like ``../../x`` must not put a file outside ``out_dir``. Frames are
    drawn from a shuffle of the first ``50 * n`` frames read (seeded). Damaged records are
    passed over with a logged warning and counted in ``skipped`` when given. Returns the
    crop paths written.
    """
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}.")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frames = frame_dataset(
        data, decode=True, shuffle_files=True, seed=seed, skip_corrupt=True, stats=skipped
    )
    frames = frames.shuffle(50 * n, seed=seed).take(n)
    written = []
    for f in frames:
        label = {0: "real", 1: "fake"}.get(int(f["label"]), "unknown")
        stem = (
            f"{safe_name(decode_text(f['video_id'].numpy()))}_t{int(f['track_id'])}"
            f"_f{int(f['frame_index'])}_{label}"
        )
        path = out / f"{stem}.png"
        tf.io.write_file(str(path), tf.io.encode_png(f["image"]))
        written.append(path)
        if f["has_mask"]:
            tf.io.write_file(str(out / f"{stem}_mask.png"), tf.io.encode_png(f["mask"]))
    return written
