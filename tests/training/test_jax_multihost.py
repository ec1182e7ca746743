"""Multi-host JAX training and float16 loss scaling.

Default run (this process, no JAX training): the settings (config, CLI, errors), each
process's share of the input (disjoint shard files that together are every file), and the
checkpoint writer of several processes (two threads with a real barrier). Slow: two JAX
processes joined by ``jax.distributed`` on CPU (gloo collectives) train and resume like one
process with the same global batch, and process 1 writes nothing but its tf.data position;
float16 steps with an injected overflow and a resumed loss scale (``jax_script.py``).
"""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfdeepfake.cli import build_parser
from tfdeepfake.cli.train import overrides_from_args
from tfdeepfake.training import TrainConfig
from tfdeepfake.training.checkpoints import KerasStateCheckpoints
from tfdeepfake.training.inputs import ProcessFeeder
from tfdeepfake.training.strategy import mixed_precision_policy
from tfrecords_tools.synthetic import write_synthetic_shards

SCRIPT = Path(__file__).with_name("jax_script.py")


def _config(**values):
    return TrainConfig.from_dict(
        {"model": {"name": "autoatt_b4_tiny"}, "out": "runs/x", "data": {"train": "d"},
         **values})


def test_mixed_precision_modes_and_the_old_boolean():
    assert _config(mixed_precision=True).mixed_precision == "auto"
    assert _config(mixed_precision="false").mixed_precision == "off"
    assert _config(mixed_precision="float16").validate().mixed_precision == "float16"
    with pytest.raises(ValueError, match="mixed_precision must be one of off, auto, float16"):
        _config(mixed_precision="fp8").validate()
    assert [mixed_precision_policy(m, gpu=False) for m in ("off", "auto", "float16")] == [
        "float32", "mixed_bfloat16", "mixed_float16"]
    assert mixed_precision_policy("auto", gpu=True) == "mixed_float16"
    assert mixed_precision_policy(True, gpu=True) == "mixed_float16"
    assert mixed_precision_policy("bfloat16", gpu=True) == "mixed_bfloat16"


def test_distributed_flags_and_their_errors():
    args = build_parser().parse_args([
        "train", "--model", "autoatt_b4_tiny", "--backend", "jax", "--mixed-precision",
        "--coordinator", "10.0.0.1:1234", "--num-processes", "4", "--process-id", "3"])
    overrides = overrides_from_args(args)
    assert overrides["distributed"] == {
        "coordinator": "10.0.0.1:1234", "num_processes": 4, "process_id": 3}
    assert overrides["mixed_precision"] == "auto"
    args = build_parser().parse_args(
        ["train", "--model", "autoatt_b4_tiny", "--mixed-precision", "float16"])
    assert overrides_from_args(args)["mixed_precision"] == "float16"
    with pytest.raises(ValueError, match="pass --backend jax"):
        _config(distributed={"coordinator": "h:1"}).validate()
    with pytest.raises(ValueError, match="process_id 2 is not below num_processes 2"):
        _config(backend="jax", distributed={
            "coordinator": "h:1", "num_processes": 2, "process_id": 2}).validate()
    assert _config(backend="jax", distributed={"coordinator": "auto"}).validate()


def test_each_process_reads_its_own_files_and_together_every_frame_once(tmp_path):
    write_synthetic_shards(tmp_path, n_real=2, n_fake=2, frames=2, size=32,
                           max_shard_bytes=1)  # one track per shard
    from tfdeepfake.data import frame_dataset
    from tfdeepfake.models import get_preset

    preset = get_preset("autoatt_b4_tiny")

    def dataset_fn(ctx, seed):
        return frame_dataset(tmp_path, preset, batch_size=4, training=False, seed=seed,
                             input_context=ctx, with_ids=True)

    def frames(process, processes):
        feeder, seen = ProcessFeeder(dataset_fn, 0, process, processes), []
        while True:
            try:
                batch = feeder.next()
            except StopIteration:
                return seen
            assert len(batch["labels"]) <= 4 // processes
            seen += zip(batch["video_id"].numpy().tolist(), batch["frame_index"].numpy().tolist())

    everything = frames(0, 1)
    first, second = frames(0, 2), frames(1, 2)
    assert len(everything) == 8 and len(set(everything)) == 8
    assert not set(first) & set(second)
    assert sorted(first + second) == sorted(everything)
    assert {v for v, _ in first} and {v for v, _ in second}


def test_only_process_0_writes_the_checkpoint_after_every_data_state(tmp_path):
    """Two processes as threads sharing a real barrier: each saves its tf.data position,
    process 0 the rest; both then restore the same step and values."""
    barrier = threading.Barrier(2, timeout=60)
    calls = {0: [], 1: []}
    seen_by_chief = []

    def make(worker):
        variables = [keras.Variable(np.full(3, 10.0 + worker)), keras.Variable(1.5 + worker)]
        step = tf.Variable(7 if worker == 0 else 0, dtype=tf.int64)

        def wait(name):
            calls[worker].append(name)
            barrier.wait()
            if worker == 0 and name.startswith("tfdeepfake-data-state"):
                seen_by_chief.append(sorted(os.listdir(tmp_path / "data_state")))

        checkpoints = KerasStateCheckpoints(str(tmp_path), {"step": step},
                                            {"model": variables}, 3, worker, 2, wait)
        iterator = iter(tf.data.Dataset.range(100))
        next(iterator)
        checkpoints.track_data({"iterator": iterator})
        return checkpoints, variables, step

    processes = [make(0), make(1)]
    threads = [threading.Thread(target=c.save, args=(7,)) for c, _, _ in processes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert calls[0] == calls[1] == ["tfdeepfake-data-state-7", "tfdeepfake-checkpoint-7"]
    assert seen_by_chief == [["worker_0", "worker_1"]]
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert [p for p in written if "worker_1" in p] == [
        p for p in written if p.startswith("data_state/worker_1/")] != []
    assert "checkpoints/ckpt-7.state.npz" in written
    assert not any(".tmp_worker" in p for p in written)

    checkpoints, variables, step = processes[1]
    assert checkpoints.restore() == 7 and int(step.numpy()) == 7
    np.testing.assert_array_equal(np.asarray(variables[0]), np.full(3, 10.0))
    assert checkpoints.restore_data(7)


def _jax_env(tmp_path, devices=1):
    env = {**os.environ, "JAX_PLATFORMS": "cpu",
           "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}",
           "JAX_COMPILATION_CACHE_DIR": str(tmp_path / "jax_cache"),
           "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}
    env.pop("KERAS_BACKEND", None)
    return env


def _result(proc) -> dict:
    assert proc.returncode == 0, proc.stderr[-4000:]
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _two_processes(tmp_path, out, steps):
    address = f"127.0.0.1:{_free_port()}"
    procs = [
        subprocess.Popen(
            [sys.executable, str(SCRIPT), "train", str(out), str(steps), "--coordinator",
             address, "--num-processes", "2", "--process-id", str(i)],
            env=_jax_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in (0, 1)
    ]
    results = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=1200)
        results.append(_result(subprocess.CompletedProcess(proc.args, proc.returncode,
                                                           stdout, stderr)))
    return results


@pytest.mark.slow
def test_two_jax_processes_train_and_resume_like_one(tmp_path):
    reference = _result(subprocess.run(
        [sys.executable, str(SCRIPT), "train", str(tmp_path / "one"), "4"],
        env=_jax_env(tmp_path, devices=2), capture_output=True, text=True, timeout=1200))
    assert (reference["devices"], reference["workers"]) == (2, 1)

    two = tmp_path / "two"
    first = _two_processes(tmp_path, two, 2)
    assert [(r["process"], r["devices"], r["workers"]) for r in first] == [(0, 2, 2), (1, 2, 2)]
    written = sorted(str(p.relative_to(two)) for p in two.rglob("*") if p.is_file())
    assert not any(".tmp_worker" in p for p in written)
    assert [p for p in written if "worker_1" in p] == [
        p for p in written if p.startswith("data_state/worker_1/")] != []
    assert len([p for p in written if p.startswith("logs/train/")]) == 1  # process 0's

    resumed = _two_processes(tmp_path, two, 4)
    for r in resumed:
        assert (r["start_step"], r["steps"], r["data_position"]) == (2, 4, "exact")
        # Validation gathers both processes' predictions: 12 examples, as one process.
        assert [v["examples"] for v in r["validations"]] == [12]
        assert r["validations"][0]["auc"] == pytest.approx(
            reference["validations"][-1]["auc"], abs=1e-6)
    np.testing.assert_allclose(resumed[0]["losses"], reference["losses"][2:], rtol=1e-5)

    from tfdeepfake import runs

    one = [np.asarray(v) for v in runs.load_run(tmp_path / "one", "last").model.weights]
    both = [np.asarray(v) for v in runs.load_run(two, "last").model.weights]
    assert len(one) == len(both) > 10
    for x, y in zip(one, both):
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-5)


@pytest.mark.slow
def test_float16_skips_an_overflowing_step_and_resumes_its_loss_scale(tmp_path):
    seen = _result(subprocess.run(
        [sys.executable, str(SCRIPT), "float16", str(tmp_path / "run")],
        env=_jax_env(tmp_path), capture_output=True, text=True, timeout=1800))
    assert seen["compute_dtype"] == "float16"
    assert seen["skipped"] and seen["scale_after_overflow"] == pytest.approx(1.5e38)
    assert seen["counter_after_overflow"] == 0
    assert seen["updated"] and seen["scale_after_step"] == 1024.0
    assert seen["counter_after_step"] == 1
    # The resumed run starts from the checkpoint's scale (1024), not the initial 2**15.
    assert seen["resumed_from"] == 1 and seen["resumed_scale"] == 1024.0
    assert len(seen["losses"]) == 2 and all(np.isfinite(seen["losses"]))
