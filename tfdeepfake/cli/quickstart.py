"""`tfdeepfake quickstart`: build a small real/fake set from packaged faces, train the tiny
detectors, evaluate them on a held-out recording and run `detect` with its report."""

from __future__ import annotations

import argparse
import sys

from tfdeepfake.cli.extract import positive_int


def register(subparsers) -> None:
    from tfdeepfake.quickstart import MODELS, QuickstartOptions

    d = QuickstartOptions()
    p = subparsers.add_parser(
        "quickstart",
        help="offline demo: real + face-swapped clips -> shards -> train -> evaluate -> detect",
        description=__doc__,
    )
    p.add_argument("--out", default=d.out,
                   help=f"output folder (default {d.out}): new, empty, or an earlier quickstart "
                        "output, which is replaced; any other folder is refused")
    p.add_argument("--steps", type=positive_int, default=d.steps,
                   help="training steps per model")
    p.add_argument("--frames", type=positive_int, default=d.frames, help="frames per video")
    p.add_argument("--offline", action="store_true",
                   help="do not fetch the sample videos from the package registry")
    p.add_argument("--seed", type=int, default=d.seed,
                   help=f"seed of initialisation, dropout and data order (default {d.seed}); "
                        "one seed gives the same table on the same machine")
    p.add_argument("--models", nargs="+", default=list(d.models),
                   help=f"tiny presets to train, some of {', '.join(MODELS)} (default: all)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Check every flag and --out before anything is written (exit 2), then run."""
    from tfdeepfake.cli.output_paths import check_output_dir
    from tfdeepfake.quickstart import QuickstartOptions, check_options, run_quickstart

    options = QuickstartOptions(out=args.out, steps=args.steps, frames=args.frames,
                                offline=args.offline, models=tuple(args.models),
                                seed=args.seed)
    try:
        check_output_dir(args.out)
        check_options(options)
    except (ValueError, OSError) as err:
        print(f"tfdeepfake quickstart: error: {err}", file=sys.stderr)
        return 2
    summary = run_quickstart(options)
    return 0 if summary["videos"] else 1
