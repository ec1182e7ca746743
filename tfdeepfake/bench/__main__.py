"""``python -m tfdeepfake.bench``: run the suites, write bench.json and bench.md, print the table.

python -m tfdeepfake.bench --out bench_results                 # full sizes (minutes)
python -m tfdeepfake.bench --tiny --suites models --out /tmp/b  # the smoke run
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

from tfdeepfake.bench import machine, models, pipeline, report, scripts

SUITES = ("models", "pipeline", "extract", "detect", "tflite")
MODELS = ("autoatt_b4", "efficientnet_b7", "resnet_lstm")
# Batches per model: 1 and 32 (B7 at 32 peaks near 8 GB RSS per side, one side at a time).
FULL_BATCHES = {
    "autoatt_b4": [1, 32],
    "efficientnet_b7": [1, 32],
    "b7_ssim": [1, 32],
    "resnet_lstm": [1, 32],
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tfdeepfake.bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--suites", nargs="+", choices=SUITES, default=list(SUITES))
    parser.add_argument(
        "--models",
        nargs="+",
        default=list(MODELS),
        help=f"detector presets (default: {' '.join(MODELS)})",
    )
    parser.add_argument(
        "--tiny", action="store_true", help="tiny presets and sizes: seconds, for the smoke test"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads on both sides of the model suite (default: all cores)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="timed repeats after warm-up (pipeline suite: rounds of both sides in turn)",
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per child run")
    parser.add_argument("--out", default="bench_results", help="folder for bench.json/.md")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.threads is not None and args.threads < 1:
        build_parser().error(f"--threads must be at least 1; got {args.threads}.")
    if args.repeats < 1:
        build_parser().error(f"--repeats must be at least 1; got {args.repeats}.")
    threads = args.threads or machine.machine()["cores"] or 1
    peak = machine.peak_gflops(threads)
    command = "python -m tfdeepfake.bench " + shlex.join(sys.argv[1:] if argv is None else argv)
    run = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": command,
        "machine": machine.machine(),
        "versions": machine.versions(),
        "threads": threads,
        "peak_gflops_estimate": peak["peak_gflops_estimate"],
        "rows": [],
    }
    for suite in args.suites:
        print(f"[bench] {suite} ...", flush=True)
        if suite == "models":
            batches = {m: [1, 2] for m in args.models} if args.tiny else FULL_BATCHES
            run["rows"] += models.run(
                args.models, batches, threads, args.repeats, args.tiny, args.timeout
            )
        elif suite == "pipeline":
            names = [m for m in args.models if not m.startswith("resnet")] or ["autoatt_b4"]
            if args.tiny:
                run["rows"] += pipeline.run(names[:1], 4, 2, 2, 4, args.timeout)
            else:
                run["rows"] += pipeline.run(
                    names, 16, 20, 24, 16, args.timeout, rounds=args.repeats
                )
        else:
            run["rows"].append(scripts.run_script(suite, args.tiny, args.timeout))
    json_path, md_path = report.write(run, args.out)
    print(md_path.read_text())
    print(f"[bench] wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
