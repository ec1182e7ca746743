"""`tfdeepfake pretrained [NAME]`: list the pretrained bundles, or fetch one into the cache."""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "pretrained",
        help="list the published-weights bundles (size, source, licence); NAME fetches one",
        description="Without NAME: list the bundles `detect --pretrained NAME` runs. With NAME: "
        "download it (verified), import it (needs the [torch] extra) and cache it, so later "
        "runs work offline. Cache: $TFDEEPFAKE_CACHE or ~/.cache/tfdeepfake. Download hosts: "
        "TFDEEPFAKE_ICPR_URL, TFDEEPFAKE_WINNER_URL, TFDEEPFAKE_GEND_URL (mirrors, file://).",
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="the bundle to fetch")
    p.set_defaults(func=run)


def _listing() -> str:
    from tfdeepfake.weights.bundles import BUNDLES, DEFAULT_BUNDLE
    from tfdeepfake.weights.pretrained import cache_root, fetch_command, is_cached

    lines = []
    for bundle in BUNDLES.values():
        state = "cached" if is_cached(bundle) else f"not cached: {fetch_command(bundle.name)}"
        default = "  (default of `tfdeepfake detect`)" if bundle.name == DEFAULT_BUNDLE else ""
        lines.append(f"{bundle.name}  ~{bundle.approx_mb:,} MB  {state}{default}")
        lines.append(f"    {bundle.description}")
        for member in bundle.members:
            lines.append(f"    - {member.name}: {member.download.filename} ({member.reference})")
        for repo, terms in bundle.licences.items():
            lines.append(f"    licence of {repo}: {terms}")
    lines.append(f"cache: {cache_root()}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from tfdeepfake.weights.checkpoint import CheckpointError
    from tfdeepfake.weights.download import ChecksumError
    from tfdeepfake.weights.mapping import MappingError
    from tfdeepfake.weights.pretrained import get_bundle, prepare_bundle

    if args.name is None:
        print(_listing())
        return 0
    try:
        get_bundle(args.name)
    except ValueError as err:  # a usage error, before any download
        print(f"tfdeepfake pretrained: {err}", file=sys.stderr)
        return 2
    try:
        folders = prepare_bundle(args.name)
    except (OSError, ValueError, ChecksumError, CheckpointError, MappingError, ImportError) as err:
        print(f"tfdeepfake pretrained: {err}", file=sys.stderr)
        return 1
    print(f"{args.name}: ready ({len(folders)} model folder(s)); run "
          f"`tfdeepfake detect VIDEO --pretrained {args.name}`")
    return 0
