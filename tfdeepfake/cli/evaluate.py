"""`tfdeepfake evaluate`: frame- and video-level metrics of a trained run on labelled shards."""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    """Add `evaluate`."""
    from tfdeepfake.scoring.aggregation import AGGREGATIONS

    parser = subparsers.add_parser(
        "evaluate",
        help="metrics, CSVs and plots of a trained run on labelled TFRecord shards",
        description=(
            "Score every frame (clip for sequence models) of the shards in --data with the "
            "run's best weights, aggregate per video with each --aggregation, and write "
            "metrics.json, per_frame.csv, per_video.csv and PNG plots into --out."
        ),
    )
    parser.add_argument("--run", required=True, help="training run folder (train --out)")
    parser.add_argument("--data", required=True, help="folder (or glob) of labelled shards")
    parser.add_argument("--out", required=True, help="report folder to write")
    parser.add_argument(
        "--aggregation",
        nargs="+",
        choices=list(AGGREGATIONS),
        metavar="NAME",
        help=f"video aggregations to report (default: all that apply): {', '.join(AGGREGATIONS)}",
    )
    parser.add_argument(
        "--threshold", type=float, default=0.5, help="probability of fake counted as FAKE"
    )
    parser.add_argument("--batch-size", type=int, default=32, help="frames (clips) per batch")
    parser.add_argument(
        "--skip-corrupt",
        action="store_true",
        help="skip corrupt records (counted in metrics.json) instead of stopping",
    )
    parser.add_argument(
        "--weights", choices=("best", "last"), default="best", help="which weights of the run"
    )
    parser.set_defaults(func=_run)


def _line(name: str, m: dict) -> str:
    def f(v):
        return "  n/a" if v is None else f"{v:.3f}"

    at = m["at_threshold"]
    return (
        f"{name:22s} n={m['n']:<6d} AUC {f(m['auc'])}  AP {f(m['ap'])}  EER {f(m['eer'])}  "
        f"logloss {f(m['log_loss'])}  acc {f(at['accuracy'])}  F1 {f(at['f1'])}"
    )


def _run(args: argparse.Namespace) -> int:
    import os

    from tfdeepfake.cli.output_paths import check_output_dir
    from tfdeepfake.evaluation.evaluator import check_settings, evaluate

    if not os.path.isdir(args.run):
        print(f"error: --run {args.run}: no such folder (pass the --out of `tfdeepfake train`)",
              file=sys.stderr)
        return 2
    try:
        check_output_dir(args.out)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    import tensorflow as tf

    from tfdeepfake import runs

    try:
        check_settings(args.data, args.threshold, args.batch_size, args.aggregation)
        run = runs.load_run(args.run, which=args.weights)
        doc = evaluate(
            run.model,
            args.data,
            args.out,
            preset=run.preset,
            aggregations=args.aggregation,
            threshold=args.threshold,
            batch_size=args.batch_size,
            skip_corrupt=args.skip_corrupt,
            info={"run": args.run, "weights": run.weights_source},
        )
    except (FileNotFoundError, ValueError, tf.errors.OpError) as err:
        # OpError: a record that fails its CRC while reading (the message names file + record).
        message = err.message if isinstance(err, tf.errors.OpError) else err
        print(f"error: {message}", file=sys.stderr)
        return 2
    unit = doc["unit"]
    print(f"model {doc['model']}  weights {doc['weights']}")
    print(_line(f"{unit} level", doc[unit]["overall"]))
    for method in doc["aggregations"]:
        print(_line(f"video {method}", doc["video"][method]["overall"]))
    if doc[unit]["unlabelled"]:
        print(
            f"warning: {doc[unit]['unlabelled']} {unit}(s) carry no label (-1, shards written "
            "for inference): listed in the CSVs, left out of the metrics",
            file=sys.stderr,
        )
    if doc.get("skipped_corrupt_records"):
        print(f"skipped {doc['skipped_corrupt_records']} corrupt record(s)")
    print(f"report: {args.out}")
    return 0
