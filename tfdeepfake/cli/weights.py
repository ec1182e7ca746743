"""`tfdeepfake weights`: import the published PyTorch checkpoints into run folders.

Exit codes: 0 done, 1 some checkpoint (or download) failed and the others were imported,
2 a usage or set-up error found before any import (unknown source or preset, a missing file,
a folder, a file given twice or two copies of one file, no PyTorch). Errors go to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def register(subparsers) -> None:
    """Add `weights sources`, `weights import` and `weights download`."""
    parser = subparsers.add_parser(
        "weights",
        help="import the published PyTorch weights (icpr2020dfdc, DFDC winner, ResNeXt-LSTM)",
        description="Convert the reference detectors' published PyTorch checkpoints into "
        "run folders (preset.json + best.weights.h5) that detect and export load. Needs the "
        "[torch] extra.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    sources = actions.add_parser("sources", help="list the importable sources and downloads")
    sources.set_defaults(func=_sources)

    imp = actions.add_parser("import", help="import local checkpoint file(s) into --out")
    imp.add_argument("source", metavar="SOURCE", help="see `tfdeepfake weights sources`")
    imp.add_argument(
        "checkpoints",
        metavar="CHECKPOINT",
        nargs="+",
        help="the .pth file; several (dfdc-winner-b7 seeds) go to one sub-folder each, named "
        "after the file (NAME-2, NAME-3... when two files share a name)",
    )
    imp.add_argument("--out", required=True, help="output run folder")
    _common(imp)
    imp.set_defaults(func=_import)

    down = actions.add_parser("download", help="download NAME (checksum-verified), import it")
    down.add_argument("name", metavar="NAME", help="see `tfdeepfake weights sources`")
    down.add_argument("--out", help="output run folder (default: runs/weights/NAME)")
    down.add_argument("--cache", help="download cache (default: ~/.cache/tfdeepfake/weights)")
    down.add_argument("--no-import", action="store_true", help="only download and verify")
    _common(down)
    down.set_defaults(func=_download)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", help="another preset of the same architecture")
    parser.add_argument("--input-size", type=int, help="build the model for this input side")
    parser.add_argument(
        "--padding",
        choices=("pytorch_0.6", "pytorch_0.7", "keras"),
        help="icpr2020dfdc only: the network to build (default pytorch_0.6, which trained the "
        "published weights; pytorch_0.7 = what the repository's notebooks compute on a new "
        "install, efficientnet-pytorch 0.7.x)",
    )


def _overrides(args: argparse.Namespace) -> dict:
    chosen = {"input_size": args.input_size, "padding": args.padding}
    return {key: value for key, value in chosen.items() if value is not None}


def _sources(args: argparse.Namespace) -> int:
    from tfdeepfake.weights.download import DOWNLOADS, GROUPS
    from tfdeepfake.weights.sources import SOURCES

    print("Sources (tfdeepfake weights import SOURCE CHECKPOINT --out DIR):")
    for s in SOURCES.values():
        print(f"  {s.name:24s} -> {s.preset:20s} {s.description}")
        print(f"  {'':24s}    licence: {s.licence}")
    print("Downloads (tfdeepfake weights download NAME):")
    for d in DOWNLOADS.values():
        check = "sha256 published" if d.sha256 else "no published checksum"
        print(f"  {d.name:32s} {d.source:24s} {check}")
    for name, members in GROUPS.items():
        print(f"  {name:32s} all {len(members)} seeds, one folder each (an ensemble)")
    return 0


def _error(message: str) -> None:
    print(f"tfdeepfake weights: error: {message}", file=sys.stderr)


def _folder_name(path: str) -> str:
    return os.path.basename(path).split("_bestval")[0]


def member_folders(files: list[str], out: str) -> list[str]:
    """One folder under ``out`` per checkpoint, named after its file (icpr2020dfdc's
    ``_bestval-<sha256>`` cut off); a name already taken, even in another case, gets ``-2``,
    ``-3``... in the order the files were given."""
    taken, folders = set(), []
    for path in files:
        base = _folder_name(path)
        name, n = base, 2
        while name.casefold() in taken:
            name, n = f"{base}-{n}", n + 1
        taken.add(name.casefold())
        folders.append(os.path.join(out, name))
    return folders


def _usage_errors(source: str, files: list[str], preset: str | None, out: str) -> list[str]:
    """What is wrong with the command before any import starts (each a message)."""
    from tfdeepfake.cli.output_paths import check_output_dir
    from tfdeepfake.models import get_preset
    from tfdeepfake.weights.checkpoint import check_checkpoint_file
    from tfdeepfake.weights.sources import get_source

    errors = []
    try:
        check_output_dir(out)
    except ValueError as err:
        errors.append(str(err))
    for check, value in ((get_source, source), (get_preset, preset)):
        if value is None:
            continue
        try:
            check(value)
        except ValueError as err:
            errors.append(str(err))
    if len(files) > 1 and source != "dfdc-winner-b7":
        errors.append(f"several checkpoints are accepted for dfdc-winner-b7 only, not {source}.")
    seen: dict[tuple[int, int], str] = {}
    for path in files:
        try:
            check_checkpoint_file(path)
        except (OSError, ValueError) as err:
            errors.append(str(err))
            continue
        info = os.stat(path)
        key = (info.st_dev, info.st_ino)
        if key not in seen:
            seen[key] = path
            continue
        first = seen[key]
        same = f"{path} is given twice" if first == path else f"{first} and {path} are one file"
        errors.append(f"{same}; give each checkpoint once (each is one model of the ensemble).")
    if len(seen) > 1:
        errors += _copies(list(seen.values()))
    return list(dict.fromkeys(errors))


def _copies(files: list[str]) -> list[str]:
    """Messages for distinct files with the same bytes: an ensemble of two copies of one
    model would count that model twice in the mean."""
    from tfdeepfake.safeio import sha256_of

    first_with: dict[str, str] = {}
    errors = []
    for path in files:
        digest = sha256_of(path)
        if digest in first_with:
            errors.append(
                f"{first_with[digest]} and {path} hold the same bytes (sha256 {digest[:12]}...), "
                "so the ensemble would count one model twice; give one of them."
            )
        else:
            first_with[digest] = path
    return errors


def _run_imports(source: str, files: list[str], out: str, args: argparse.Namespace) -> int:
    from tfdeepfake.weights import CheckpointError, MappingError, import_checkpoint

    errors = _usage_errors(source, files, args.preset, out)
    for message in errors:
        _error(message)
    if errors:
        return 2
    folders = [out] if len(files) == 1 else member_folders(files, out)
    for path, folder in zip(files, folders):
        if len(files) > 1 and os.path.basename(folder) != _folder_name(path):
            print(f"{path}: another checkpoint has its file name, so it goes to {folder}")
    members = []
    for path, folder in zip(files, folders):
        try:
            result = import_checkpoint(source, path, folder, args.preset, **_overrides(args))
        except (CheckpointError, MappingError, FileNotFoundError, ValueError) as err:
            _error(f"{path}: {err}")
            continue
        except ImportError as err:
            _error(str(err))
            return 2
        members.append(folder)
        s = result.summary
        print(
            f"imported {path} -> {result.weights_path} (preset {result.preset.name}, "
            f"{s.tensors_used} tensors, {s.parameters:,} parameters, "
            f"{len(s.ignored)} checkpoint keys ignored with reasons in source.json)"
        )
    if len(files) > 1 and members:
        from tfdeepfake.safeio import atomic_write

        with atomic_write(os.path.join(out, "ensemble.json")) as f:
            json.dump(
                {
                    "members": members,
                    "combine": "mean of the members' video "
                    "probabilities (weights are never averaged)",
                },
                f,
                indent=2,
            )
        print(f"ensemble of {len(members)} models: {os.path.join(out, 'ensemble.json')}")
    return 1 if len(members) < len(files) else 0


def _import(args: argparse.Namespace) -> int:
    return _run_imports(args.source, args.checkpoints, args.out, args)


def _download(args: argparse.Namespace) -> int:
    from tfdeepfake.weights.download import ChecksumError, fetch, get_downloads

    try:
        items = get_downloads(args.name)
    except ValueError as err:
        _error(str(err))
        return 2
    files = []
    for item in items:
        try:
            path = fetch(item, args.cache)
        except (ChecksumError, OSError) as err:
            _error(str(err))
            return 1
        note = "" if item.sha256 else " (no published checksum: digest recorded for later runs)"
        print(f"verified {path}{note}")
        files.append(str(path))
    if args.no_import:
        return 0
    out = args.out or os.path.join("runs", "weights", args.name)
    return _run_imports(items[0].source, files, out, args)
