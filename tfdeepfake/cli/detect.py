"""`tfdeepfake detect PATH...`: verdicts for videos and images, with CSV, JSON and a report.

Each result is appended to FILE.partial.jsonl beside --csv/--json as soon as it is finished;
the final files are made from it at the end. A run that was killed leaves that journal, and
the same command run again scores only the inputs it does not hold.

Exit status: 0 when every input got a REAL/FAKE verdict, 1 when any input ended as ERROR or
NO_FACE (the batch still ran to the end and every input has a row), 2 for a usage or
set-up error before any input was scored (bad flags, no weights, output in use by another
run), 3 for a crash (an internal error: the traceback is on stderr).
"""

from __future__ import annotations

import argparse
import contextlib
import sys

from tfdeepfake.cli.extract import add_limit_flags, positive_int
from tfdeepfake.pipelines.cli import add_runner_arguments


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "detect",
        help="score videos/images: REAL or FAKE, per-model and per-frame scores, heatmaps",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="video or image files, folders, globs")
    p.add_argument("--models", nargs="+", metavar="NAME",
                   help="presets to run (default: those in --weights, else the paper's three)")
    p.add_argument("--weights", metavar="DIR",
                   help="a run folder (tfdeepfake train / weights import) or a folder of them")
    p.add_argument("--pretrained", metavar="NAME",
                   help="a published-weights bundle (`tfdeepfake pretrained` lists them), "
                   "downloaded, verified and imported on first use; without --weights, "
                   "--pretrained and --models, the default bundle runs once it is cached")
    p.add_argument("--frames", type=positive_int,
                   help="frames sampled per video (default: the presets')")
    p.add_argument("--threshold", type=float, default=0.5,
                   help="ensemble fake probability at or above which a video is FAKE "
                   "(default 0.5)")
    p.add_argument("--csv", metavar="FILE", help="write one row per input")
    p.add_argument("--json", metavar="FILE", help="write everything, per-frame scores included")
    p.add_argument("--report", metavar="DIR",
                   help="write score plots, heatmap videos and an index.html here")
    p.add_argument("--batch-size", type=positive_int, default=8,
                   help="faces per forward pass, two run at once: see --streams (default 8)")
    p.add_argument("--workers", type=int, default=None,
                   help="N > 1: find faces in the next N-1 inputs while the models score "
                   "(default 1; 2 when Keras runs on JAX: faces are then found by MTCNN in "
                   "TensorFlow child processes)")
    p.add_argument("--streams", type=int, default=None,
                   help="forward passes at once (default 2 on TensorFlow, 1 = one by one)")
    p.add_argument("--backend", choices=("tensorflow", "jax"),
                   help="Keras backend that scores (default: KERAS_BACKEND, else tensorflow); "
                   "jax: compiled with XLA, faces found by MTCNN in TensorFlow child processes")
    p.add_argument("--runtime", choices=("keras", "tflite"), default="keras",
                   help="tflite: run the .tflite files in --weights with LiteRT")
    p.add_argument("--allow-untrained", action="store_true",
                   help="run models without weights on random init; outputs say UNTRAINED")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no table")
    p.add_argument("--jsonl", metavar="FILE",
                   help="with --runner: one JSON line per input (local or gs://, s3://...)")
    add_runner_arguments(p)
    add_limit_flags(p)
    p.set_defaults(func=run, loads_tensorflow=False)  # on JAX, faces are found in TF children


def _weights(args: argparse.Namespace):
    """--weights; --pretrained NAME's folders (fetched on first use); else, when nothing
    else says which models to run, the default bundle if cached (never a silent download)."""
    from tfdeepfake.weights.pretrained import default_weights, prepare_bundle

    if args.pretrained:
        if args.weights:
            raise ValueError("Give --weights DIR or --pretrained NAME, not both.")
        return prepare_bundle(args.pretrained)
    if args.weights or args.models or args.allow_untrained or args.runtime != "keras":
        return args.weights
    return default_weights()


def run(args: argparse.Namespace) -> int:
    from tfdeepfake.cli.output_paths import check_output_dir, check_output_files
    from tfdeepfake.inference import expand_inputs

    left_out: list[str] = []
    paths = expand_inputs(args.paths, left_out)
    if left_out:
        from tfdeepfake.inference.detector import left_out_message
        print(f"tfdeepfake detect: {left_out_message(left_out)}", file=sys.stderr)
    try:  # before any model loads: a bad output path must not cost the batch
        check_output_files({"--csv": args.csv, "--json": args.json, "--jsonl": args.jsonl},
                           inputs=paths)
        check_output_dir(args.report, "--report")
    except ValueError as err:
        print(f"tfdeepfake detect: {err}", file=sys.stderr)
        return 2
    if args.runner:
        from tfdeepfake.pipelines.cli import run_detect

        return run_detect(args, _weights)
    from tfdeepfake.inference import Detector, MissingWeightsError

    try:
        detector = Detector(
            args.models, _weights(args), frames=args.frames, threshold=args.threshold,
            allow_untrained=args.allow_untrained, batch_size=args.batch_size,
            streams=args.streams,
            runtime=args.runtime, max_frames=args.max_frames, max_pixels=args.max_pixels,
            time_limit=args.time_limit,
        )
    except (MissingWeightsError, OSError, ValueError, RuntimeError, ImportError) as err:
        print(f"tfdeepfake detect: {err}", file=sys.stderr)
        return 2
    if detector.untrained:
        untrained = [m.name for m in detector.models if not m.trained]
        print(f"WARNING: {', '.join(untrained)} run on random weights (--allow-untrained): "
              "every verdict is labelled UNTRAINED and means nothing.", file=sys.stderr)
    with detector:  # ends its face-finding child processes, if any
        return _detect(args, detector, paths)


def _detect(args: argparse.Namespace, detector, paths: list[str]) -> int:
    from tfdeepfake.inference.outputs import ResultJournal, format_table, write_csv, write_json
    from tfdeepfake.inference.report import write_index
    from tfdeepfake.safeio import FolderBusyError

    info = detector.run_info()
    journal = ResultJournal.beside(args.csv or args.json) if args.csv or args.json else None
    try:
        with journal.lock() if journal else contextlib.nullcontext():
            done = journal.resume(info) if journal else {}
            if done and not args.quiet:
                print(f"resuming: {len(done)} input(s) already scored in {journal.path}",
                      file=sys.stderr)
            results = detector.predict(
                paths, progress=not args.quiet, report_dir=args.report, workers=args.workers,
                done=done, on_result=journal.append if journal else None, expand=False,
            )
            if args.csv:
                write_csv(results, detector.model_names, args.csv)
            if args.json:
                write_json(results, info, args.json)
            if journal:
                journal.remove()
    except (FolderBusyError, ValueError) as err:
        print(f"tfdeepfake detect: {err}", file=sys.stderr)
        return 2
    if args.report:
        index = write_index(results, args.report, info["models"], detector.threshold)
    if not args.quiet:
        print(format_table(results, detector.model_names))
        for what, path in (("CSV", args.csv), ("JSON", args.json),
                           ("report", index if args.report else None)):
            if path:
                print(f"{what}: {path}")
    return 1 if any(r.failed for r in results) else 0
