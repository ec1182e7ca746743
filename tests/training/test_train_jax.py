"""`tfdeepfake train --backend jax`: the jitted data-parallel step on two CPU devices, run
folders TensorFlow reads, and exact resume (a resumed run ends with the weights of an
uninterrupted one), with the augmentation inside the jitted step (``--augment-on device``:
its draws are keyed by the step, so the resumed run draws what the uninterrupted one drew).

One subprocess (the backend and the device count are fixed per process) trains run A for 4
steps through the CLI (the flag selects the backend before Keras loads), then run B through
the Python API for 2 steps and again to 4 (resuming from its checkpoint). A JAX persistent
compilation cache shares the step's compilation between the three runs.
"""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tfrecords_tools.synthetic import write_synthetic_shards

SCRIPT = r"""
import json, sys
root = sys.argv[1]
common = ["--model", "autoatt_b4_tiny", "--data", f"{root}/train", "--val-data", f"{root}/val",
          "--batch-size", "4", "--val-every", "2", "--checkpoint-every", "2", "--lr", "1e-3",
          "--no-progress", "--augment-on", "device"]
from tfdeepfake.cli import main
code = main(["train", "--backend", "jax", "--out", f"{root}/a", "--steps", "4", *common])
assert code == 0, code

import jax
import keras
from tfdeepfake.training import resolve_config, train
assert keras.backend.backend() == "jax"
summaries = []
for steps in (2, 4):
    config = resolve_config("autoatt_b4_tiny", overrides={
        "backend": "jax", "out": f"{root}/b", "steps": steps, "val_every": 2, "progress": False,
        "data": {"train": f"{root}/train", "val": f"{root}/val", "batch_size": 4,
                 "augment_on": "device"},
        "optimizer": {"learning_rate": 1e-3}, "checkpoint": {"every_steps": 2}})
    summaries.append(train(config))
for s in summaries:
    s.pop("losses")
print("RESULT " + json.dumps({"devices": len(jax.devices()), "b": summaries}))
"""


@pytest.mark.slow
def test_jax_training_resumes_exactly_and_tensorflow_reads_the_run(tmp_path):
    write_synthetic_shards(tmp_path / "train", n_real=4, n_fake=4, frames=4, size=32, seed=0)
    write_synthetic_shards(
        tmp_path / "val", n_real=2, n_fake=2, frames=4, size=32, seed=100, split="val"
    )
    env = {
        **os.environ,
        "JAX_PLATFORMS": "cpu",
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
        "JAX_COMPILATION_CACHE_DIR": str(tmp_path / "jax_cache"),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
    }
    env.pop("KERAS_BACKEND", None)
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=1800,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")][-1]
    result = json.loads(line[len("RESULT "):])
    assert result["devices"] == 2
    first, resumed = result["b"]
    assert (first["start_step"], first["steps"], first["replicas"]) == (0, 2, 2)
    assert (resumed["start_step"], resumed["steps"]) == (2, 4)
    assert first["augment_on"] == resumed["augment_on"] == "device"
    assert resumed["data_position"] == "exact"
    assert [v["step"] for v in resumed["validations"]] == [4]
    assert "Resuming" in proc.stderr

    a, b = tmp_path / "a", tmp_path / "b"
    assert json.loads((a / "config.json").read_text())["backend"] == "jax"
    for name in ("best.weights.h5", "last.weights.h5", "checkpoints/ckpt-4.state.npz"):
        assert (a / name).exists() and (b / name).exists(), name

    # TensorFlow (this process) reads both runs; the resumed run ends with A's weights.
    from tfdeepfake import runs

    weights_a = [np.asarray(v) for v in runs.load_run(a, "last").model.weights]
    weights_b = [np.asarray(v) for v in runs.load_run(b, "last").model.weights]
    assert len(weights_a) == len(weights_b) > 10
    for x, y in zip(weights_a, weights_b):
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-6)

    # A run folder whose weights files are gone loads from its newest JAX checkpoint.
    c = tmp_path / "c"
    shutil.copytree(a, c)
    for name in ("best.weights.h5", "last.weights.h5"):
        (c / name).unlink()
    loaded = runs.load_run(c)
    assert loaded.weights_source.endswith("ckpt-4")
    for x, y in zip(weights_a, (np.asarray(v) for v in loaded.model.weights)):
        np.testing.assert_array_equal(x, y)
