"""Training speed per model on this machine: images per second through the tfdeepfake trainer.

Runs ``tfdeepfake.training.train`` (``--backend tensorflow``: the custom ``strategy.run``
loop, default strategy; ``--backend jax``: the jitted data-parallel step over every local
device) on an in-memory batch repeated (so the input pipeline is not measured), and prints,
per model, the first step (tracing included) and the images per second of the steps after it
(sequence models count every frame of a clip as an image). With ``--data SHARDS`` the same
trainer then reads those TFRecord shards end to end (decode, re-crop, the references'
augmentation, balance) and the last column is its images/s as a fraction of the in-memory
run's: how much of the step's speed the input pipeline keeps. ``--augment-on host device``
reads the shards once per placement of the augmentation (``data.augment_on``: in tf.data,
or in the compiled step on uint8 batches) and prints both.

Usage:
    python bench/train_speed.py                      # the three tiny presets
    python bench/train_speed.py --full --steps 6     # full-size presets (slow, memory hungry)
    python bench/train_speed.py --models autoatt_b4 --batch-size 8 --mixed-precision
    python bench/train_speed.py --backend jax --models autoatt_b4 --batch-size 64 \
        --steps 100 --data shards/train --augment-on host device   # the GPU measurement
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TINY = ("autoatt_b4_tiny", "b7_ssim_tiny", "resnet_lstm_tiny")
FULL = ("autoatt_b4", "b7_ssim", "resnet_lstm")


def in_memory(preset, batch_size: int):
    """A dataset function repeating one random normalised batch (labels alternate)."""
    import numpy as np
    import tensorflow as tf

    side = preset.input_size
    shape = (preset.frames, side, side, 3) if preset.sequence else (side, side, 3)

    def dataset_fn(ctx, seed):
        per_replica = ctx.get_per_replica_batch_size(batch_size)
        rng = np.random.default_rng(seed)
        x = rng.normal(0, 1, (per_replica, *shape)).astype("float32")
        y = (np.arange(per_replica) % 2).astype("float32")[:, None]
        return tf.data.Dataset.from_tensors((x, y)).repeat()

    return dataset_fn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", help="preset names (default: the tiny ones)")
    parser.add_argument("--full", action="store_true", help="the full-size presets")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--mixed-precision", action="store_true")
    parser.add_argument("--backend", choices=("tensorflow", "jax"), default="tensorflow")
    parser.add_argument("--data", help="TFRecord shards: also train from them end to end")
    parser.add_argument("--augment-on", nargs="+", choices=("auto", "host", "device"),
                        default=["auto"], help="with --data: where the shards' batches are "
                        "augmented (one run each)")
    args = parser.parse_args()
    os.environ["KERAS_BACKEND"] = args.backend  # before keras or tensorflow is imported

    import keras
    import tensorflow as tf

    from tfdeepfake.models import get_preset
    from tfdeepfake.training import TrainConfig, train

    names = args.models or (FULL if args.full else TINY)
    print(
        f"Keras {keras.__version__} on {keras.backend.backend()}, TensorFlow {tf.__version__}, "
        f"{os.cpu_count()} CPU(s), batch {args.batch_size}, {args.steps} steps, mixed "
        f"precision {args.mixed_precision}"
    )
    print(f"{'model':<20} {'input':<14} {'first step s':>12} {'images/s':>10} {'wall s':>8} "
          f"{'of in-memory':>12}")
    for name in names:
        preset = get_preset(name)
        sources = [("in-memory", in_memory(preset, args.batch_size), "host")]
        if args.data:
            sources += [(f"shards/{on}", None, on) for on in args.augment_on]
        reference = None
        for source, dataset_fn, augment_on in sources:
            with tempfile.TemporaryDirectory() as out:
                config = TrainConfig.from_dict(
                    {
                        "model": {"name": name},
                        "out": out,
                        "backend": args.backend,
                        "steps": args.steps,
                        "val_every": 0,
                        "progress": False,
                        "log_every": 10**9,
                        "mixed_precision": args.mixed_precision,
                        "data": {"batch_size": args.batch_size, "train": args.data or "",
                                 "augment_on": augment_on},
                        "checkpoint": {"every_steps": 10**9, "data_state": False},
                    }
                )
                start = time.perf_counter()
                summary = train(config, dataset_fn)
                wall = time.perf_counter() - start
            rate = summary["images_per_second"]
            reference = reference or rate
            print(
                f"{name:<20} {source:<14} {summary['first_step_seconds']:>12.1f} "
                f"{rate:>10.1f} {wall:>8.1f} {rate / reference:>11.0%}",
                flush=True,
            )


if __name__ == "__main__":
    main()
