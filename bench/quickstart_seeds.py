"""Does `tfdeepfake quickstart` learn every time? Seeds 0, 1, 2 and the first seed again.

Runs ``tfdeepfake quickstart --seed N`` in a fresh process per run and prints, per run, the
held-out video AUC of each tiny detector, how many of the held-out videos the ensemble
classifies correctly at the threshold it reports, that threshold, the wall and CPU
seconds (user + sys of the run's process tree), and PASS/FAIL against issue #16's targets:
every detector's held-out video AUC >= 0.95 and the ensemble right on >= 7 of 8 videos.
The repeated seed must give the same table (same AUCs, threshold and video scores).

Usage:
    python bench/quickstart_seeds.py                     # seeds 0 1 2, then 0 again
    python bench/quickstart_seeds.py --seeds 3 --out /tmp/qs --extra --steps 200
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

MIN_AUC = 0.95
MIN_CORRECT = 7


def run_once(seed: int, out: str, extra: list[str]) -> dict:
    """One quickstart in a child process; its summary.json plus wall and CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    cli = "import sys; from tfdeepfake.cli import main; sys.exit(main())"
    command = [sys.executable, "-c", cli, "quickstart", "--seed", str(seed), "--out", out, *extra]
    log_path = f"{out}.log"
    with open(log_path, "w") as log:
        code = subprocess.call(command, stdout=log, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if code != 0:
        raise SystemExit(f"quickstart --seed {seed} failed (exit {code}); see {log_path}")
    with open(os.path.join(out, "summary.json")) as f:
        return {**json.load(f), "wall_s": wall, "cpu_s": cpu}


def verdict(summary: dict) -> str:
    """PASS when every AUC and the ensemble's correct count meet the targets."""
    aucs_ok = all(auc >= MIN_AUC for auc in summary["aucs"].values())
    return "PASS" if aucs_ok and summary["correct"] >= MIN_CORRECT else "FAIL"


def same_table(a: dict, b: dict) -> bool:
    """Two runs gave the same AUCs, threshold and per-video ensemble scores."""
    keys = ("aucs", "threshold", "correct", "scores")
    return all(a[k] == b[k] for k in keys)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default="quickstart_seeds", help="folder for the runs")
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[],
                        help="further quickstart arguments (e.g. --extra --steps 200)")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    plan = [*args.seeds, args.seeds[0]]
    runs = []
    for i, seed in enumerate(plan):
        tag = f"seed{seed}" + ("_again" if i == len(plan) - 1 else "")
        print(f"running quickstart --seed {seed} -> {os.path.join(args.out, tag)}", flush=True)
        runs.append((tag, run_once(seed, os.path.join(args.out, tag), args.extra)))
    models = list(runs[0][1]["aucs"])
    header = ["run", *models, "correct", "threshold", "wall s", "CPU s", "result"]
    rows = [[tag, *(f"{s['aucs'][m]:.3f}" for m in models), f"{s['correct']}/{s['videos']}",
             f"{s['threshold']:.3f}", f"{s['wall_s']:.0f}", f"{s['cpu_s']:.0f}", verdict(s)]
            for tag, s in runs]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
    repeat = same_table(runs[0][1], runs[-1][1])
    print(f"seed {plan[0]} twice: {'same table' if repeat else 'DIFFERENT table'} "
          f"({'PASS' if repeat else 'FAIL'})")
    passed = repeat and all(verdict(s) == "PASS" for _, s in runs)
    print("all targets met" if passed else "targets NOT met")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
