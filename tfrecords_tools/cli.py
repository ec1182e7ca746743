"""`tfrecords-tools inspect|validate|stats|sample DIR`: look at and check track shards.

Exit codes: 0 fine, 1 validate found problems or inspect/stats/sample met damaged records
(they count or sample the rest and name each one on stderr), 2 bad arguments or no shards,
3 a crash (traceback on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def _report_damage(command: str, data: str, damage: list) -> int:
    """Name each damaged record on stderr with the fix; the exit code (1 if any, else 0)."""
    for item in damage:
        print(f"tfrecords-tools {command}: damaged: {item}", file=sys.stderr)
    if not damage:
        return 0
    lost = sum(d.lost for d in damage)
    print(
        f"tfrecords-tools {command}: {lost} damaged record(s); the figures above leave "
        f"them out. Run `tfrecords-tools validate {data}` to list every problem, then delete "
        "or re-extract those shards.",
        file=sys.stderr,
    )
    return 1


def _inspect(args) -> int:
    from tfrecords_tools.reader import list_shards
    from tfrecords_tools.stats import shard_info
    from tfrecords_tools.writer import read_manifest

    files = list_shards(args.data)
    damage = []
    print(f"{'shard':40s} {'MiB':>8s} {'tracks':>7s} {'frames':>7s} {'videos':>7s}  labels")
    for path in files:
        info = shard_info(path)
        damage += info.damage
        labels = ", ".join(f"{k} {v}" for k, v in sorted(info.labels.items()))
        print(
            f"{os.path.basename(path):40s} {info.bytes / 2**20:8.2f} {info.records:7d} "
            f"{info.frames:7d} {info.videos:7d}  {labels}"
        )
    if os.path.isdir(args.data):
        entries = read_manifest(args.data)
        videos = sum(len(e.get("videos", [])) for e in entries)
        print(f"manifest: {len(entries)} completed shard(s), {videos} video(s) done")
    return _report_damage("inspect", args.data, damage)


def _stats(args) -> int:
    from tfrecords_tools.stats import Damage, collect_stats

    stats = collect_stats(args.data)
    damage = [Damage(**d) for d in stats["damaged"]]
    if args.json:
        print(json.dumps(stats, indent=2))
        return _report_damage("stats", args.data, damage)
    print(
        f"shards {stats['shards']}  size {stats['bytes'] / 2**20:.2f} MiB  "
        f"videos {stats['videos']}  tracks {stats['tracks']}  frames {stats['frames']}  "
        f"tracks with SSIM masks {stats['with_masks']}"
    )
    for key in ("label", "dataset", "split"):
        print(f"by {key}:")
        for value, c in stats[f"by_{key}"].items():
            print(
                f"  {value:16s} videos {c['videos']:7d}  tracks {c['tracks']:7d}  "
                f"frames {c['frames']:8d}"
            )
    return _report_damage("stats", args.data, damage)


def _validate(args) -> int:
    from tfrecords_tools.validate import validate_shards

    report = validate_shards(
        args.data,
        check_images=not args.no_images,
        check_manifest=not args.no_manifest,
        progress=(lambda p: print(f"checking {p}", file=sys.stderr)) if args.verbose else None,
    )
    for problem in report.problems:
        print(problem)
    status = "OK" if report.ok else f"{len(report.problems)} PROBLEM(S)"
    print(
        f"{status}: {report.shards} shard(s), {report.records} readable track(s), "
        f"{report.frames} frame(s)"
    )
    return 0 if report.ok else 1


def _sample(args) -> int:
    from tfrecords_tools.reader import ReadStats
    from tfrecords_tools.sample import dump_samples

    skipped = ReadStats()
    written = dump_samples(args.data, args.out, n=args.n, seed=args.seed, skipped=skipped)
    masks = sum(1 for p in os.listdir(args.out) if p.endswith("_mask.png"))
    print(f"wrote {len(written)} crop(s) to {args.out} ({masks} mask file(s) in the folder)")
    if not skipped.skipped:
        return 0
    print(
        f"tfrecords-tools sample: {skipped.skipped} damaged record(s) passed over (warnings "
        f"above name them). Run `tfrecords-tools validate {args.data}` to list every problem.",
        file=sys.stderr,
    )
    return 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `tfrecords-tools`."""
    parser = argparse.ArgumentParser(
        prog="tfrecords-tools", description="Inspect, count, validate and sample track shards."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    helps = {
        "inspect": "one line per shard: size, tracks, frames, videos, labels",
        "stats": "counts of videos, tracks and frames by label, dataset and split",
        "validate": "find corrupt/truncated records, schema errors, manifest mismatches",
        "sample": "dump N face crops (and SSIM masks) to PNG files",
    }
    for name, text in helps.items():
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("data", help="folder of *.tfrecord shards, a shard, or a glob pattern")
        p.set_defaults(func=globals()[f"_{name}"])
    sub.choices["stats"].add_argument("--json", action="store_true", help="print JSON")
    val = sub.choices["validate"]
    val.add_argument("--no-images", action="store_true", help="skip decoding JPEGs/PNGs")
    val.add_argument("--no-manifest", action="store_true", help="skip the manifest check")
    val.add_argument("-v", "--verbose", action="store_true", help="name each shard checked")
    smp = sub.choices["sample"]
    smp.add_argument("--out", required=True, help="folder for the PNG files")
    smp.add_argument("-n", type=int, default=16, help="number of crops (default 16)")
    smp.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `tfrecords-tools` console script."""
    args = build_parser().parse_args(argv)
    from tfdeepfake.cli import configure_output, run_guarded

    configure_output(False)  # quiet as `tfdeepfake`: no TensorFlow/XLA start-up lines

    return run_guarded(f"tfrecords-tools {args.command}", _with_usage_errors, args)


def _with_usage_errors(args) -> int:
    try:
        return int(args.func(args))
    except (FileNotFoundError, ValueError) as err:
        print(f"tfrecords-tools {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
