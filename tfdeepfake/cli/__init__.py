"""`tfdeepfake`: a thin command line over the library.

Each sub-command lives in its own module of this package and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to the function that
runs it (``func(args) -> int`` exit code). Heavy imports happen inside ``func``.

Exit codes shared by every sub-command: 0 success, 1 the batch ran to the end but some
input failed (each has its row), 2 a usage or set-up error, 3 a crash (an unexpected
exception: its traceback goes to stderr), 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback

EXIT_CRASH = 3
EXIT_INTERRUPTED = 130

# Sub-command modules, in the order `tfdeepfake --help` lists them.
COMMANDS = (
    "quickstart",
    "detect",
    "serve",
    "extract",
    "train",
    "evaluate",
    "export",
    "weights",
    "pretrained",
    "models",
    "samples",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="tfdeepfake", description="Deepfake video detection in Keras 3 / TensorFlow."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"tfdeepfake.cli.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `tfdeepfake` console script."""
    # TensorFlow's C++ INFO/WARNING lines (oneDNN notices, grappler cost-model noise) drown
    # the output people read; errors still show. Set TF_CPP_MIN_LOG_LEVEL=0 to see them.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    return run_guarded(f"tfdeepfake {args.command}", args.func, args)


def run_guarded(prog: str, func, args: argparse.Namespace) -> int:
    """``func(args)``, with a crash exiting ``EXIT_CRASH`` (never 1, which means "some input
    failed") and its traceback on stderr."""
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception:
        traceback.print_exc(file=sys.stderr)
        print(f"{prog}: internal error (exit {EXIT_CRASH}); please report it with the "
              "traceback above", file=sys.stderr)
        return EXIT_CRASH


if __name__ == "__main__":
    sys.exit(main())
