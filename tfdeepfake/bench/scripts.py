"""Extraction, detect and TFLite suites: run the owners' benchmark modules
(``tfdeepfake.bench.extract_speed`` and friends, also ``python bench/NAME.py``) unchanged and
keep what they print, with the wall time and peak RSS of each run (nothing measured twice)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

# suite -> (module in tfdeepfake.bench, arguments for the tiny run, arguments for the full run)
SCRIPTS = {
    "extract": (
        "extract_speed",
        ["--repeats", "1", "--frames", "4", "--sides", "320"],
        ["--repeats", "2", "--frames", "32", "--sides", "640"],
    ),
    "detect": (
        "detect_speed",
        [
            "--tiny",
            "--models",
            "autoatt_b4",
            "--frames",
            "4",
            "--batch-size",
            "4",
            "--repeats",
            "1",
        ],
        ["--models", "resnet_lstm", "autoatt_b4", "--frames", "32", "--repeats", "1"],
    ),
    "tflite": (
        "tflite_speed",
        ["--models", "autoatt_b4_tiny", "--threads", "1", "--repeats", "3", "--limit", "8"],
        ["--threads", "1", "2", "--repeats", "10"],
    ),
}

_RSS_TAG = "BENCH-RSS-KB "
# Runs the module as __main__, then prints the peak RSS of it and of any children it ran.
_WRAPPER = (
    "import resource, runpy, sys\n"
    "sys.argv = sys.argv[1:]\n"
    "try:\n"
    "    runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True)\n"
    "finally:\n"
    "    peak = max(resource.getrusage(w).ru_maxrss for w in "
    "(resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))\n"
    f"    print('{_RSS_TAG}' + str(peak), flush=True)\n"
)


def run_script(suite: str, tiny: bool, timeout: float) -> dict:
    """Run one script; its printed lines, exit status, wall seconds and peak RSS (MiB)."""
    script, tiny_args, full_args = SCRIPTS[suite]
    args = tiny_args if tiny else full_args
    module = f"tfdeepfake.bench.{script}"
    cmd = [sys.executable, "-c", _WRAPPER, module, *args]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    try:
        output, _ = proc.communicate(timeout=timeout)
        error = None if proc.returncode == 0 else f"exit {proc.returncode}"
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
        error = f"no result within {timeout:.0f} s"
    rss = [line for line in output.splitlines() if line.startswith(_RSS_TAG)]
    lines = [
        line
        for line in output.splitlines()
        if line.strip()
        and "WARNING" not in line
        and "I0000" not in line
        and not line.startswith(("W0000", "E0000", _RSS_TAG))
    ]
    row = {
        "suite": suite,
        "command": " ".join(["python", "-m", module, *args]),
        "wall_s": round(time.perf_counter() - start, 1),
        "output": lines[-40:],
    }
    if rss:
        row["peak_rss_mb"] = round(float(rss[-1][len(_RSS_TAG) :]) / 1024.0, 1)
    if error:
        row["error"] = error
    return row
