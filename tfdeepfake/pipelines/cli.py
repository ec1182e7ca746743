"""The ``--runner`` / ``--beam-option`` flags of ``extract`` and ``detect``, and what those
commands do when ``--runner`` is given (the rest of each command is unchanged)."""

from __future__ import annotations

import argparse
import logging
import sys

from tfdeepfake.pipelines.runners import RUNNERS


def add_runner_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--runner`` and ``--beam-option`` (needs the ``[beam]`` extra when used)."""
    parser.add_argument(
        "--runner", choices=tuple(RUNNERS),
        help="run as an Apache Beam pipeline: direct = this machine with --workers processes; "
             "dataflow/flink/spark: see docs/scale.md (needs pip install tfdeepfake[beam])",
    )
    parser.add_argument(
        "--beam-option", action="append", default=[], metavar="KEY=VALUE",
        help="a Beam pipeline option, repeatable (e.g. project=P, region=R, "
             "temp_location=gs://B/tmp, setup_file=./pyproject.toml, flink_master=HOST:PORT)",
    )


def _beam_missing() -> str | None:
    """Import Apache Beam (its root-logger notice that the BigQuery client is absent, which
    no tfdeepfake pipeline uses, left out); a message when it is not installed."""
    root = logging.getLogger()
    notice = _DropMessage("apitools not found")
    root.addFilter(notice)
    try:
        import apache_beam  # noqa: F401
    except ImportError:
        return "--runner needs Apache Beam: pip install 'tfdeepfake[beam]'"
    finally:
        root.removeFilter(notice)
    return None


class _DropMessage(logging.Filter):
    """Drops the log records whose message contains ``text``."""

    def __init__(self, text: str):
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()


def run_extract(args: argparse.Namespace, options) -> int:
    """``tfdeepfake extract --runner ...``."""
    from tfdeepfake.pipelines.beam_extract import beam_extract_dataset
    from tfdeepfake.pipelines.worker_watch import WorkerLostError
    from tfdeepfake.safeio import FolderBusyError

    if message := _beam_missing():
        print(f"tfdeepfake extract: error: {message}", file=sys.stderr)
        return 2
    try:
        summary = beam_extract_dataset(
            args.input, args.out, labels=args.labels, options=options, runner=args.runner,
            workers=args.workers, beam_options=args.beam_option, dataset=args.dataset,
            split=args.split, fmt=args.fmt, max_shard_bytes=int(args.shard_mb * 2**20),
        )
    except (FileNotFoundError, ValueError, FolderBusyError) as err:
        print(f"tfdeepfake extract: error: {err}", file=sys.stderr)
        return 2
    except WorkerLostError as err:
        print(f"tfdeepfake extract: error: {err}", file=sys.stderr)
        return 1
    print(summary.format())
    return summary.exit_code


def run_detect(args: argparse.Namespace, weights_of) -> int:
    """``tfdeepfake detect --runner ...``: the same table, CSV, JSON, report and resume
    journal as ``detect``, plus JSON lines.

    ``weights_of(args)`` is detect's choice of weights (--weights, --pretrained, default)."""
    from tfdeepfake.inference import MissingWeightsError
    from tfdeepfake.inference.outputs import format_table, summarize
    from tfdeepfake.pipelines.beam_score import beam_detect
    from tfdeepfake.pipelines.worker_watch import WorkerLostError

    if message := _beam_missing():
        print(f"tfdeepfake detect: {message}", file=sys.stderr)
        return 2
    try:
        results, info = beam_detect(
            args.paths, models=args.models, weights=weights_of(args), frames=args.frames,
            threshold=args.threshold, allow_untrained=args.allow_untrained,
            batch_size=args.batch_size, runtime=args.runtime, streams=args.streams,
            runner=args.runner, workers=args.workers or 1, beam_options=args.beam_option,
            csv_path=args.csv, json_path=args.json, jsonl_path=args.jsonl,
            report_dir=args.report,
            max_frames=args.max_frames, max_pixels=args.max_pixels, time_limit=args.time_limit,
        )
    except WorkerLostError as err:
        print(f"tfdeepfake detect: {err}", file=sys.stderr)
        return 1
    except (MissingWeightsError, OSError, ValueError, RuntimeError, ImportError) as err:
        print(f"tfdeepfake detect: {err}", file=sys.stderr)
        return 2
    names = [m["name"] for m in info["models"]]
    if untrained := [m["name"] for m in info["models"] if not m["trained"]]:
        print(f"WARNING: {', '.join(untrained)} run on random weights (--allow-untrained): "
              "every verdict is labelled UNTRAINED and means nothing.", file=sys.stderr)
    if not args.quiet:
        print(format_table(results, names))
        print("summary: " + ", ".join(f"{k} {v}" for k, v in summarize(results).items()))
        for what, path in (("CSV", args.csv), ("JSON", args.json), ("JSON lines", args.jsonl),
                           ("report", info.get("report"))):
            if path:
                print(f"{what}: {path}")
    return 1 if any(r.failed for r in results) else 0
