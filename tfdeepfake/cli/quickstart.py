"""`tfdeepfake quickstart`: build a small real/fake set from packaged faces, train the tiny
detectors, evaluate them on a held-out recording and run `detect` with its report."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    from tfdeepfake.quickstart import QuickstartOptions

    d = QuickstartOptions()
    p = subparsers.add_parser(
        "quickstart",
        help="offline demo: real + face-swapped clips -> shards -> train -> evaluate -> detect",
        description=__doc__,
    )
    p.add_argument("--out", default=d.out, help=f"output folder, replaced (default {d.out})")
    p.add_argument("--steps", type=int, default=d.steps, help="training steps per model")
    p.add_argument("--frames", type=int, default=d.frames, help="frames per video")
    p.add_argument("--offline", action="store_true",
                   help="do not fetch the sample videos from the package registry")
    p.add_argument("--seed", type=int, default=d.seed,
                   help=f"seed of initialisation, dropout and data order (default {d.seed}); "
                        "one seed gives the same table on the same machine")
    p.add_argument("--models", nargs="+", default=list(d.models), help="tiny presets to train")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tfdeepfake.quickstart import QuickstartOptions, run_quickstart

    options = QuickstartOptions(out=args.out, steps=args.steps, frames=args.frames,
                                offline=args.offline, models=tuple(args.models),
                                seed=args.seed)
    summary = run_quickstart(options)
    return 0 if summary["videos"] else 1
