"""What a figure was measured on: CPU, estimated peak GFLOP/s, versions, load, peak RSS."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import resource


def _cpuinfo() -> dict[str, str]:
    info: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return info


def peak_gflops(threads: int) -> dict:
    """An ESTIMATE of the fp32 peak of ``threads`` cores: cores x clock x FLOPs per cycle.

    FLOPs per cycle from the /proc/cpuinfo flags: AVX-512 FMA 64 (2 FMA units x 16 lanes x 2),
    AVX2 FMA 32, else SSE 8. The clock is the reported current MHz (no turbo information).
    """
    info = _cpuinfo()
    flags = set(info.get("flags", "").split())
    if {"avx512f", "fma"} <= flags:
        isa, per_cycle = "AVX-512 FMA", 64
    elif {"avx2", "fma"} <= flags:
        isa, per_cycle = "AVX2 FMA", 32
    else:
        isa, per_cycle = "SSE", 8
    mhz = float(info.get("cpu MHz", 0) or 0)
    return {
        "cpu": info.get("model name", platform.processor() or "unknown"),
        "isa": isa,
        "flops_per_cycle": per_cycle,
        "mhz": mhz,
        "threads": threads,
        "peak_gflops_estimate": round(threads * mhz / 1e3 * per_cycle, 1),
    }


def versions(
    names: tuple[str, ...] = (
        "tensorflow",
        "keras",
        "torch",
        "numpy",
        "opencv-python-headless",
        "albumentations",
        "efficientnet_pytorch",
        "ai-edge-litert",
    ),
) -> dict:
    """Installed versions of the packages the benchmarks use (absent ones are left out)."""
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def machine() -> dict:
    """Host facts for the report header."""
    return {
        "host": platform.node(),
        "os": platform.platform(),
        "cores": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 1),
        **{k: v for k, v in peak_gflops(os.cpu_count() or 1).items() if k != "threads"},
    }


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
