"""`tfdeepfake`: a thin command line over the library.

Each sub-command lives in its own module of this package and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to the function that
runs it (``func(args) -> int`` exit code). Heavy imports happen inside ``func``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

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
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
