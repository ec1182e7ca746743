"""`tfdeepfake extract`: labelled videos -> sharded TFRecords of face tracks."""

from __future__ import annotations

import argparse
import sys

from tfdeepfake.pipelines.cli import add_runner_arguments


def register(subparsers) -> None:
    """Add the `extract` sub-command."""
    from tfdeepfake.faces.crop import STORED_MARGIN
    from tfdeepfake.faces.dataset import DEFAULT_CROP_SIZE

    parser = subparsers.add_parser(
        "extract",
        help="decode videos, find and track faces, write face crops to sharded TFRecords",
        description=(
            "Extract face tracks from a folder of labelled videos into sharded TFRecords "
            "(resumable; failures are listed in OUT/failures.csv and the batch carries on)."
        ),
    )
    parser.add_argument("input", help="folder of videos (or one video)")
    parser.add_argument(
        "--labels",
        help="DFDC metadata.json, Celeb-DF List_of_testing_videos.txt, a CSV path,label[,original]"
        " or a FaceForensics++ folder (default: look inside INPUT; none: label -1)",
    )
    parser.add_argument("--out", required=True, help="output folder for the shards")
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes (default 1; Beam's with --runner)"
    )
    parser.add_argument("--frames", type=int, default=32, help="frames sampled per video")
    parser.add_argument(
        "--sampling", choices=("even", "stride", "first"), default="even", help="frame sampling"
    )
    parser.add_argument("--stride", type=int, default=1, help="step for --sampling stride")
    parser.add_argument(
        "--margin", type=float, default=STORED_MARGIN,
        help=f"crop margin, a fraction of the face box (default {STORED_MARGIN})",
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--crop-size", type=int, default=DEFAULT_CROP_SIZE,
        help=f"crop side in pixels (default {DEFAULT_CROP_SIZE})",
    )
    size.add_argument(
        "--for", dest="for_models", nargs="+", metavar="MODEL",
        help="set the crop side so that these models' training faces are never upsampled "
        "(at --margin 0.5: 320 px for autoatt_b4, 456 for b7_ssim or ensemble, 160 for "
        "resnet_lstm)",
    )
    parser.add_argument("--mode", choices=("square", "pad"), default="square", help="crop mode")
    parser.add_argument("--split", help="split stored with every track (train/val/test)")
    parser.add_argument("--dataset", help="dataset name stored with every track")
    parser.add_argument(
        "--format",
        dest="fmt",
        choices=("dfdc", "ffpp", "celebdf", "csv", "none"),
        help="label format (default: detected from --labels)",
    )
    parser.add_argument(
        "--detect-side", type=int, default=640, help="long side frames are shrunk to for MTCNN"
    )
    parser.add_argument("--min-score", type=float, default=0.9, help="minimum face score")
    parser.add_argument("--no-masks", action="store_true", help="skip the SSIM masks of fakes")
    parser.add_argument("--shard-mb", type=float, default=64.0, help="shard size bound in MiB")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_runner_arguments(parser)
    add_limit_flags(parser)
    parser.set_defaults(func=run)


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1 (argparse names the flag in its error)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


def add_limit_flags(parser: argparse.ArgumentParser) -> None:
    """``--max-frames``, ``--max-pixels``, ``--time-limit`` (extract, detect and serve)."""
    from tfdeepfake.faces.deadline import TIME_LIMIT
    from tfdeepfake.faces.video import MAX_FRAMES, MAX_PIXELS

    parser.add_argument(
        "--max-frames", type=int, default=MAX_FRAMES,
        help=f"frames sampled from one video at most (default {MAX_FRAMES})",
    )
    parser.add_argument(
        "--max-pixels", type=int, default=MAX_PIXELS,
        help=f"a video whose frames exceed this many pixels fails as too_large before "
        f"decoding (default {MAX_PIXELS} = 8192x8192)",
    )
    parser.add_argument(
        "--time-limit", type=float, default=TIME_LIMIT, metavar="SECONDS",
        help=f"seconds one video may take for decoding, face detection and scoring "
        f"(extract: the SSIM masks) together, checked between frames and batches; past "
        f"it the video fails as timeout and the batch carries on (default {TIME_LIMIT:g})",
    )


def crop_size_of(args: argparse.Namespace) -> int:
    """The side ``--for MODEL ...`` needs, else ``--crop-size`` (256 unless given)."""
    if args.for_models:
        from tfdeepfake.faces.crop import crop_size_for
        from tfdeepfake.models import get_preset

        presets = [get_preset(name) for name in args.for_models]  # ValueError names the model
        return crop_size_for(presets, args.margin)
    return args.crop_size


def run(args: argparse.Namespace) -> int:
    """Run the extraction: exit code 0, 1 when an input failed, 2 for a usage error (bad
    flags, an input without videos, an unusable or busy --out)."""
    from tfdeepfake.cli.output_paths import check_output_dir
    from tfdeepfake.faces.dataset import ExtractOptions, extract_dataset
    from tfdeepfake.safeio import FolderBusyError

    try:
        options = ExtractOptions(
            frames=args.frames,
            margin=args.margin,
            crop_size=crop_size_of(args),
            sampling=args.sampling,
            stride=args.stride,
            mode=args.mode,
            masks=not args.no_masks,
            detect_side=args.detect_side,
            min_score=args.min_score,
            max_frames=args.max_frames,
            max_pixels=args.max_pixels,
            time_limit=args.time_limit,
        )
        check_output_dir(args.out)  # before any work: a typo must not cost the batch
    except ValueError as err:
        print(f"tfdeepfake extract: error: {err}", file=sys.stderr)
        return 2
    if args.workers < 1:
        print(f"tfdeepfake extract: error: --workers must be >= 1, got {args.workers}",
              file=sys.stderr)
        return 2
    if args.runner:
        from tfdeepfake.pipelines.cli import run_extract

        return run_extract(args, options)
    try:
        summary = extract_dataset(
            args.input,
            args.out,
            labels=args.labels,
            options=options,
            workers=args.workers,
            dataset=args.dataset,
            split=args.split,
            fmt=args.fmt,
            max_shard_bytes=int(args.shard_mb * 2**20),
            progress=not args.quiet,
        )
    except (FileNotFoundError, ValueError, FolderBusyError) as err:
        print(f"tfdeepfake extract: error: {err}", file=sys.stderr)
        return 2
    print(summary.format())
    return summary.exit_code
