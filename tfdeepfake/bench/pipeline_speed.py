"""Augmented crops per second from the training input pipeline (synthetic shards).

Writes synthetic track shards with crops stored at the size extraction would store for each
preset (margin 0.5), then times ``tfdeepfake.data.frame_dataset(training=True, augment=...)``
with its tf.data work limited to ``--threads`` threads (1 = per core) and with all cores.
``--profile`` also times each operation of the recipe alone on one crop at the preset's
size (a one-thread tf.data map, CPU ms per crop net of an identity map) and the recipe's
expected cost from the steps' probabilities. Prints figures only; nothing is asserted.

    python bench/pipeline_speed.py [--models autoatt_b4 b7_ssim] [--batches 20] [--profile]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import tensorflow as tf

from tfdeepfake.data import frame_dataset
from tfdeepfake.data.augment import OPS, PRESETS, AugmentConfig, resolve_augment
from tfdeepfake.faces.crop import STORED_MARGIN, stored_crop_size
from tfdeepfake.models import get_preset
from tfrecords_tools.schema import LABEL_FAKE, LABEL_REAL
from tfrecords_tools.synthetic import synthetic_track
from tfrecords_tools.writer import ShardedWriter


def write_shards(folder: str, stored: int, videos: int, frames: int) -> None:
    """``videos`` one-track videos (half fake, with masks) of ``frames`` crops at ``stored`` px."""
    with ShardedWriter(folder, max_shard_bytes=8 * 2**20) as writer:
        for i in range(videos):
            label = LABEL_FAKE if i % 2 else LABEL_REAL
            writer.write(
                synthetic_track(
                    f"v{i:04d}",
                    label,
                    frames=frames,
                    size=stored,
                    seed=i,
                    crop_margin=STORED_MARGIN,
                )
            )


def crops_per_second(
    folder: str, preset, augment: str, batch: int, batches: int, threads: int | None
) -> tuple[float, float]:
    """Steady-state crops per wall second and per CPU second of this process (after two
    warm-up batches). Per CPU second is the per-core figure even when other jobs share the
    cores."""
    ds = frame_dataset(folder, preset, batch_size=batch, training=True, augment=augment, seed=0)
    if threads:
        options = tf.data.Options()
        options.threading.private_threadpool_size = threads
        options.threading.max_intra_op_parallelism = 1
        ds = ds.with_options(options)
    it = iter(ds)
    for _ in range(2):
        next(it)
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(batches):
        next(it)
    n = batch * batches
    return n / (time.perf_counter() - start), n / (time.process_time() - cpu)


def op_costs(config: AugmentConfig, size: int, crops: int = 300) -> list[tuple[str, float, float]]:
    """``(operation, probability it runs, CPU ms per crop)`` for each operation of the recipe,
    each timed alone in a one-thread tf.data map over ``crops`` crops, net of an identity map."""
    rng = np.random.default_rng(0)
    state = {
        "image": tf.constant(rng.random((size, size, 3), np.float32)),
        "mask": tf.constant(rng.random((size, size, 1), np.float32)),
        "landmarks": tf.constant(rng.uniform(0.3, 0.7, 10).astype(np.float32) * size),
        "label": tf.constant(LABEL_FAKE, tf.int64),
        "has_mask": tf.constant(True),
    }
    options = tf.data.Options()
    options.threading.private_threadpool_size = 1
    options.threading.max_intra_op_parallelism = 1

    def cpu_ms(op) -> float:
        ds = tf.data.Dataset.range(crops).map(lambda i: op(state, tf.stack([i, i + 1]))["image"])
        ds = ds.with_options(options)
        for _ in ds.take(2):
            pass
        start = time.process_time()
        for _ in ds:
            pass
        return 1000 * (time.process_time() - start) / crops

    base = cpu_ms(lambda st, seed: st)
    rows = []
    for step in config.steps:
        choices = step.choices or (step,)
        for choice in choices:
            op = OPS[choice.op]
            cost = cpu_ms(lambda st, seed, op=op, kw=choice.params: op(st, seed, **kw))
            rows.append((choice.op, step.p / len(choices), max(cost - base, 0.0)))
    return rows


def _print_rows(title: str, rows: list[tuple[str, float, float]]) -> None:
    print(title)
    for op, p, ms in rows:
        print(f"    {op:29s} p={p:4.2f} {ms:7.2f} ms  (expected {p * ms:5.2f})")
    total = sum(p * ms for _, p, ms in rows)
    print(f"    {'expected per crop':29s}        {total:7.2f} ms")


def print_profile(model: str, augment: str, size: int) -> None:
    """The recipe's operations timed alone (``op_costs``) and, when albumentations is
    installed, the reference way's stages (``bench.albumentations_reference``)."""
    rows = op_costs(PRESETS[augment], size)
    _print_rows(f"  profile of {augment!r} at {size} px (CPU ms per crop, one thread):", rows)
    try:
        from tfdeepfake.bench.albumentations_reference import reference_costs

        reference = reference_costs(model)
    except ImportError as error:
        print(f"  (no albumentations reference profile: {error})")
        return
    _print_rows(f"  the albumentations + OpenCV reference at {size} px:", reference)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["autoatt_b4", "b7_ssim"])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--videos", type=int, default=24)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--profile", action="store_true", help="time each augmentation op")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(
        f"TF {tf.__version__}, {cores} cores, load average {os.getloadavg()[0]:.1f} "
        "(other jobs share these cores: figures are lower bounds)"
    )
    for name in args.models:
        preset = get_preset(name)
        augment = resolve_augment(True, preset).name
        stored = stored_crop_size(preset)
        with tempfile.TemporaryDirectory() as folder:
            write_shards(folder, stored, args.videos, args.frames)
            size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
            print(
                f"{name}: {preset.input_size} px from {stored} px stored crops, augment "
                f"{augment!r}, {args.videos * args.frames} frames in {size / 2**20:.1f} MiB"
            )
            for label, aug, threads in (
                ("augmented, 1 thread", augment, 1),
                (f"augmented, {cores} cores", augment, None),
                (f"no augmentation, {cores} cores", None, None),
            ):
                wall, cpu = crops_per_second(folder, preset, aug, args.batch, args.batches, threads)
                print(f"  {label:28s} {wall:7.1f} crops/s wall, {cpu:7.1f} crops per CPU-second")
        if args.profile:
            print_profile(name, augment, preset.input_size)


if __name__ == "__main__":
    main()
