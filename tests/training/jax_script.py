"""Subprocess driver of the JAX multi-process and float16 tests (Keras' backend, JAX's
process group and the device count are fixed per process).

Usage:
    python jax_script.py train OUT STEPS [--coordinator A --num-processes N --process-id I]
    python jax_script.py float16 OUT

``train``: a tiny run on in-memory data whose global batches are the same for any number of
processes (process p of P takes rows p*B/P to (p+1)*B/P of each); prints ``RESULT`` and the
summary as JSON. ``float16``: a float16 step with an injected overflow, a normal step, a
checkpoint, then a float16 run resuming from it; prints ``RESULT`` and what it saw.
Not a test module.
"""

import json
import os
import sys

os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

BATCH = 8
SIZE = 32


def dataset_fns():
    import tensorflow as tf
    from train_script import synthetic_faces

    def train_fn(ctx, seed):
        x, y = synthetic_faces(64, SIZE, seed)
        rows = BATCH // ctx.num_input_pipelines
        first = ctx.input_pipeline_id * rows
        ds = tf.data.Dataset.from_tensor_slices((x, y)).repeat().batch(BATCH)
        return ds.map(lambda a, b: (a[first:first + rows], b[first:first + rows]))

    def val_fn(ctx, seed):
        x, y = synthetic_faces(12, SIZE, 1)
        ds = tf.data.Dataset.from_tensor_slices((x, y))
        return ds.shard(ctx.num_input_pipelines, ctx.input_pipeline_id).batch(3)

    return train_fn, val_fn


def config_for(out, steps, **values):
    from tfdeepfake.training import TrainConfig

    return TrainConfig.from_dict({
        "model": {"name": "autoatt_b4_tiny"}, "backend": "jax", "out": out, "steps": steps,
        "val_every": 2, "progress": False, "log_every": 1, "data": {"batch_size": BATCH},
        "optimizer": {"learning_rate": 1e-3, "schedule": "constant"},
        "checkpoint": {"every_steps": 2}, **values})


def run_train(out, steps, args):
    from tfdeepfake.training import train

    distributed = {}
    if "--coordinator" in args:
        distributed = {
            "coordinator": args[args.index("--coordinator") + 1],
            "num_processes": int(args[args.index("--num-processes") + 1]),
            "process_id": int(args[args.index("--process-id") + 1]),
        }
    train_fn, val_fn = dataset_fns()
    summary = train(config_for(out, steps, distributed=distributed), train_fn, val_fn)
    import jax

    summary["devices"] = len(jax.devices())
    summary["process"] = jax.process_index()
    return summary


def run_float16(out):
    import numpy as np
    import tensorflow as tf

    from tfdeepfake.training import train
    from tfdeepfake.training.jax_trainer import JaxTrainer

    train_fn, _ = dataset_fns()
    config = config_for(out, 3, mixed_precision="float16", val_every=0)
    trainer = JaxTrainer(config, train_fn)
    trainer._build()
    optimizer = trainer.optimizer

    def weights():
        trainer._sync_variables()
        return [np.asarray(v.value) for v in trainer.model.trainable_variables]

    batch = next(iter(train_fn(tf.distribute.InputContext(), 0)))
    optimizer.dynamic_scale.assign(3.0e38)  # scaled gradients overflow float16
    step = trainer._make_train_step()
    before = weights()
    loss = float(np.asarray(step(batch)[0]))
    after = weights()
    seen = {
        "compute_dtype": trainer.model.layers[1].compute_dtype,
        "overflow_loss": loss,
        "skipped": all(np.array_equal(a, b) for a, b in zip(before, after)),
        "scale_after_overflow": float(np.asarray(optimizer.dynamic_scale.value)),
        "counter_after_overflow": int(np.asarray(optimizer.step_counter.value)),
    }
    optimizer.dynamic_scale.assign(1024.0)
    trainer._pull_state()
    step(batch)
    seen["updated"] = not all(np.array_equal(a, b) for a, b in zip(after, weights()))
    seen["scale_after_step"] = float(np.asarray(optimizer.dynamic_scale.value))
    seen["counter_after_step"] = int(np.asarray(optimizer.step_counter.value))
    trainer.step.assign(1)
    trainer.checkpoints.save(1)
    summary = train(config, train_fn)
    seen.update(resumed_from=summary["start_step"], resumed_scale=summary["loss_scale"],
                losses=summary["losses"])
    return seen


if __name__ == "__main__":
    mode, out = sys.argv[1], sys.argv[2]
    if mode == "train":
        result = run_train(out, int(sys.argv[3]), sys.argv[4:])
    else:
        result = run_float16(out)
    print("RESULT " + json.dumps(result, default=str), flush=True)
