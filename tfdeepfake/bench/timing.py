"""Median-of-repeats timing and the child-process runner (one process per figure, so each
figure carries its own peak RSS and frameworks never share a process)."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

from tfdeepfake.bench.machine import peak_rss_mb

RESULT_TAG = "BENCH-RESULT "


def median_seconds(fn: Callable[[], object], repeats: int, warmup: int = 1) -> dict:
    """Call ``fn`` ``warmup`` times, then time ``repeats`` calls: median, min and max seconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "repeats": repeats,
        "warmup": warmup,
    }


def emit(result: dict) -> None:
    """Child side: print the result with the child's peak RSS on one tagged line."""
    print(RESULT_TAG + json.dumps({**result, "peak_rss_mb": round(peak_rss_mb(), 1)}), flush=True)


def child_main(description: str, measure: Callable[[dict], dict]) -> None:
    """Child side of ``run_child``: read ``--child SPEC``, and ``emit`` the spec with what
    ``measure(spec)`` returns."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--child", required=True, help="JSON spec (internal)")
    spec = json.loads(parser.parse_args().child)
    emit({**spec, **measure(spec)})


def run_child(module: str, spec: dict, timeout: float) -> dict:
    """Run ``python -m module --child SPEC`` and return its tagged result (or an error row)."""
    cmd = [sys.executable, "-m", module, "--child", json.dumps(spec)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {**spec, "error": f"no result within {timeout:.0f} s"}
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG) :])
    tail = (proc.stderr or proc.stdout)[-600:].strip().replace("\n", " | ")
    return {**spec, "error": f"exit {proc.returncode}: {tail}"}
