"""tf.distribute: MirroredStrategy over two logical CPUs (resumed after SIGKILL) and
MultiWorkerMirroredStrategy with two worker processes on 127.0.0.1 (TF_CONFIG)."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np

SCRIPT = str(Path(__file__).with_name("train_script.py"))
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_BACKEND": "tensorflow"}


def _summary(stdout: str) -> dict:
    lines = [line for line in stdout.splitlines() if line.startswith("SUMMARY ")]
    assert lines, f"no summary in the output:\n{stdout[-3000:]}"
    return json.loads(lines[-1][len("SUMMARY ") :])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _step_losses(log: str) -> dict[int, float]:
    return {int(m[1]): float(m[2]) for m in re.finditer(r"^step (\d+) loss (\S+)", log, re.M)}


def test_multi_worker_two_processes_end_identical_and_learn(tmp_path):
    ports = [_free_port(), _free_port()]
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for index in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        cmd = [
            sys.executable,
            SCRIPT,
            str(tmp_path / "run"),
            "80",
            "--strategy",
            "multi_worker",
            "--weights",
            str(tmp_path / f"w{index}.npz"),
            "--every",
            "20",
            "--data-state",
            "0",
        ]
        procs.append(
            subprocess.Popen(
                cmd,
                env={**ENV, "TF_CONFIG": tf_config},
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        )
    outputs = [p.communicate(timeout=1800) for p in procs]
    for p, (_out, err) in zip(procs, outputs):
        assert p.returncode == 0, err[-3000:]
    summaries = [_summary(out) for out, _ in outputs]
    for s in summaries:
        assert (s["workers"], s["replicas"], s["steps"]) == (2, 2, 80)
    assert summaries[0]["losses"] == summaries[1]["losses"]  # the all-reduced global loss
    # every trainable weight identical (gradients all-reduced; BN moving statistics are not)
    w0, w1 = np.load(tmp_path / "w0.npz"), np.load(tmp_path / "w1.npz")
    assert len(w0.files) > 10
    for key in w0.files:
        np.testing.assert_array_equal(w0[key], w1[key])
    losses = summaries[0]["losses"]
    assert np.mean(losses[-20:]) < np.mean(losses[:20])
    run = tmp_path / "run"
    assert (run / "checkpoints" / "ckpt-80.index").exists()
    assert (run / "best.weights.h5").exists() and (run / "config.json").exists()
    assert not (run / ".tmp_worker_1").exists()  # the non-chief's checkpoint copies are removed


def test_mirrored_two_logical_cpus_resumes_exactly_after_sigkill(tmp_path):
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        SCRIPT,
        str(out),
        "12",
        "--strategy",
        "mirrored",
        "--logical-cpus",
        "2",
        "--every",
        "5",
    ]
    # First run: slowed to 1 s per step after the trace, killed with SIGKILL after step 7.
    proc = subprocess.Popen(
        cmd,
        env={**ENV, "STEP_SLEEP": "1.0"},
        text=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    killed_log = []
    for line in proc.stderr:
        killed_log.append(line)
        if line.startswith("step 7 loss"):
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "".join(killed_log)[-3000:]
    saved = sorted(int(p.name[5:-6]) for p in (out / "checkpoints").glob("ckpt-*.index"))
    assert saved and saved[-1] == 5
    # The same command again resumes from the checkpoint of step 5.
    rerun = subprocess.run(cmd, env=ENV, text=True, capture_output=True, timeout=1800)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "Resuming" in rerun.stderr and "from step 5" in rerun.stderr
    summary = _summary(rerun.stdout)
    assert (summary["start_step"], summary["steps"], summary["replicas"]) == (5, 12, 2)
    assert summary["data_position"] == "exact"
    before, after = _step_losses("".join(killed_log)), _step_losses(rerun.stderr)
    assert sorted(after) == list(range(6, 13))
    # Steps 6 and 7 ran in both processes: same weights, same data position, same loss.
    for step in (6, 7):
        assert after[step] == before[step], (step, before, after)
    losses = [before[s] for s in range(1, 6)] + [after[s] for s in range(6, 13)]
    assert np.mean(losses[-5:]) < np.mean(losses[:5])
