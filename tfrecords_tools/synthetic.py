"""Synthetic face tracks (drawn faces, no real data) for tests, benchmarks and examples."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tfrecords_tools.schema import LABEL_FAKE, LABEL_REAL, TrackRecord


def _landmarks(size: int) -> np.ndarray:
    """Left eye, right eye, nose, mouth left, mouth right of the drawn face, in crop pixels."""
    s = float(size)
    return np.array([0.38, 0.42, 0.62, 0.42, 0.5, 0.55, 0.42, 0.68, 0.58, 0.68], np.float32) * s


def draw_face(size: int, rng: np.random.Generator, fake: bool) -> tuple[np.ndarray, np.ndarray]:
    """One (size, size, 3) uint8 crop of a drawn face and its (size, size) uint8 SSIM-like mask.

    Fakes get a brighter, blockier mouth/eye region; the mask marks that region.
    """
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    background = rng.uniform(20, 90, size=3)
    skin = rng.uniform(140, 220, size=3)
    image = np.ones((size, size, 3), np.float32) * background
    face = ((xx - 0.5) / 0.32) ** 2 + ((yy - 0.52) / 0.4) ** 2 <= 1.0
    image[face] = skin
    lm = _landmarks(size) / size
    for cx, cy in lm[:4].reshape(-1, 2)[:2]:
        image[((xx - cx) ** 2 + (yy - cy) ** 2) <= 0.003] = (30, 30, 40)
    mouth = (np.abs(yy - 0.68) < 0.03) & (np.abs(xx - 0.5) < 0.1)
    image[mouth] = (150, 40, 50)
    mask = np.zeros((size, size), np.uint8)
    if fake:
        region = (np.abs(yy - 0.55) < 0.2) & (np.abs(xx - 0.5) < 0.22)
        image[region] = image[region] * 0.6 + 90
        mask[region] = 200
    image += rng.normal(0, 6, size=image.shape)
    return np.clip(image, 0, 255).astype(np.uint8), mask


def synthetic_track(
    video_id: str,
    label: int,
    *,
    frames: int = 4,
    size: int = 32,
    seed: int = 0,
    track_id: int = 0,
    dataset: str = "synthetic",
    split: str = "train",
    with_masks: bool | None = None,
    crop_margin: float = 0.5,
) -> TrackRecord:
    """A ``TrackRecord`` of drawn faces; fakes carry masks unless ``with_masks`` says no."""
    rng = np.random.default_rng(seed)
    drawn = [draw_face(size, rng, label == LABEL_FAKE) for _ in range(frames)]
    crops = np.stack([d[0] for d in drawn])
    masks = np.stack([d[1] for d in drawn])
    keep_masks = (label == LABEL_FAKE) if with_masks is None else with_masks
    return TrackRecord(
        video_id=video_id,
        crops=crops,
        frame_index=np.arange(frames) * 3,
        boxes=np.tile(np.array([10, 20, 110, 140], np.float32), (frames, 1)),
        landmarks=np.tile(_landmarks(size), (frames, 1)),
        scores=np.full(frames, 0.99, np.float32),
        label=label,
        source_path=f"/videos/{video_id}.mp4",
        dataset=dataset,
        split=split,
        original_id="orig_" + video_id if label == LABEL_FAKE else "",
        track_id=track_id,
        fps=30.0,
        frame_count=frames * 3,
        crop_margin=crop_margin,
        masks=masks if keep_masks else None,
    )


def write_synthetic_shards(
    out_dir: str | os.PathLike,
    *,
    n_real: int = 4,
    n_fake: int = 4,
    frames: int = 4,
    size: int = 32,
    max_shard_bytes: int = 64 * 2**20,
    split: str = "train",
    seed: int = 0,
) -> Path:
    """Write ``n_real`` real and ``n_fake`` fake one-track videos into shards; the folder."""
    from tfrecords_tools.writer import ShardedWriter

    with ShardedWriter(out_dir, max_shard_bytes=max_shard_bytes) as writer:
        for i in range(n_real + n_fake):
            label = LABEL_REAL if i < n_real else LABEL_FAKE
            vid = f"{'real' if label == LABEL_REAL else 'fake'}{i:04d}"
            writer.write(
                synthetic_track(vid, label, frames=frames, size=size, seed=seed + i, split=split)
            )
    return Path(out_dir)
