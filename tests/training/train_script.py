"""Subprocess driver of the training tests: one tiny training run on in-memory data.

Usage: python train_script.py OUT STEPS [--strategy S] [--logical-cpus N] [--weights FILE]
Prints one JSON line (the run summary) and writes the final weights to --weights (npz).
Not a test module: the tests start it in fresh processes (strategies and logical devices
are per process). ``STEP_SLEEP=seconds`` in the environment slows every training batch down
(same pipeline graph either way, so a resumed run can restore the iterator of a slowed one).
"""

import argparse
import json
import logging
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def synthetic_faces(n: int, size: int, seed: int):
    """Normalised-looking noise images; fakes carry a brighter centre patch (labels (n, 1))."""
    import numpy as np

    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % 2).astype("float32")
    images = rng.normal(0, 1, (n, size, size, 3)).astype("float32")
    q = size // 8
    images[labels == 1, q:-q, q:-q] += 2.5
    return images, labels[:, None]


def _sleep(x):
    time.sleep(float(os.environ.get("STEP_SLEEP", "0")))
    return x


def dataset_fns(size: int, batch_size: int):
    import tensorflow as tf

    def train_fn(ctx, seed):
        x, y = synthetic_faces(64, size, 0)
        ds = tf.data.Dataset.from_tensor_slices((x, y))
        ds = ds.shard(ctx.num_input_pipelines, ctx.input_pipeline_id)
        ds = ds.repeat().shuffle(32, seed=seed).batch(ctx.get_per_replica_batch_size(batch_size))

        def slowed(x, y):
            out = tf.numpy_function(_sleep, [x], tf.float32)
            out.set_shape(x.shape)
            return out, y

        return ds.map(slowed)

    def val_fn(ctx, seed):
        x, y = synthetic_faces(16, size, 1)
        ds = tf.data.Dataset.from_tensor_slices((x, y))
        ds = ds.shard(ctx.num_input_pipelines, ctx.input_pipeline_id)
        return ds.batch(ctx.get_per_replica_batch_size(batch_size))

    return train_fn, val_fn


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("steps", type=int)
    parser.add_argument("--strategy", default="default")
    parser.add_argument("--logical-cpus", type=int, default=0)
    parser.add_argument("--weights", default="")
    parser.add_argument("--model", default="autoatt_b4_tiny")
    parser.add_argument("--data-state", type=int, default=1)
    parser.add_argument("--every", type=int, default=2)
    parser.add_argument("--mixed-precision", action="store_true")
    args = parser.parse_args()
    # The trainer reports progress through logging: show it as a Python user would.
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)

    import tensorflow as tf

    if args.logical_cpus:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * args.logical_cpus
        )

    import keras
    import numpy as np

    from tfdeepfake.models import get_preset

    keras.utils.set_random_seed(0)  # the same initial weights on every run and worker
    from tfdeepfake.training import TrainConfig, Trainer

    batch_size = 16
    train_fn, val_fn = dataset_fns(get_preset(args.model).input_size, batch_size)
    config = TrainConfig.from_dict(
        {
            "model": {"name": args.model},
            "out": args.out,
            "steps": args.steps,
            "strategy": args.strategy,
            "val_every": 0,
            "progress": False,
            "log_every": 1,
            "mixed_precision": args.mixed_precision,
            "data": {"batch_size": batch_size},
            "optimizer": {"name": "adam", "learning_rate": 1e-2},
            "checkpoint": {"every_steps": args.every, "data_state": bool(args.data_state)},
        }
    )
    trainer = Trainer(config, train_fn, val_fn)
    summary = trainer.run()
    if args.weights:
        # Trainable weights (all-reduced). BatchNorm moving statistics are each worker's own.
        np.savez(args.weights, *[np.asarray(v) for v in trainer.model.trainable_variables])
    print("SUMMARY " + json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
