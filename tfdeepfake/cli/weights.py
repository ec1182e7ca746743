"""`tfdeepfake weights`: import the published PyTorch checkpoints into run folders."""

from __future__ import annotations

import argparse
import json
import os


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
        help="the .pth file; several (dfdc-winner-b7 seeds) go to one sub-folder each",
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


def _run_imports(source: str, files: list[str], out: str, args: argparse.Namespace) -> int:
    from tfdeepfake.weights import CheckpointError, MappingError, import_checkpoint

    targets = (
        [(files[0], out)]
        if len(files) == 1
        else [(f, os.path.join(out, os.path.basename(f).split("_bestval")[0])) for f in files]
    )
    if len(files) > 1 and source != "dfdc-winner-b7":
        print(f"error: several checkpoints are accepted for dfdc-winner-b7 only, not {source}.")
        return 2
    failures = 0
    for path, folder in targets:
        try:
            result = import_checkpoint(source, path, folder, args.preset, **_overrides(args))
        except (CheckpointError, MappingError, FileNotFoundError, ValueError) as err:
            print(f"error: {path}: {err}")
            failures += 1
            continue
        except ImportError as err:
            print(f"error: {err}")
            return 1
        s = result.summary
        print(
            f"imported {path} -> {result.weights_path} (preset {result.preset.name}, "
            f"{s.tensors_used} tensors, {s.parameters:,} parameters, "
            f"{len(s.ignored)} checkpoint keys ignored with reasons in source.json)"
        )
    if len(targets) > 1:
        from tfdeepfake import runs
        from tfdeepfake.safeio import atomic_write

        members = [folder for _, folder in targets if runs.weights_path(folder) is not None]
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
    return 1 if failures else 0


def _import(args: argparse.Namespace) -> int:
    return _run_imports(args.source, args.checkpoints, args.out, args)


def _download(args: argparse.Namespace) -> int:
    from tfdeepfake.weights.download import ChecksumError, fetch, get_downloads

    try:
        items = get_downloads(args.name)
    except ValueError as err:
        print(f"error: {err}")
        return 2
    files = []
    for item in items:
        try:
            path = fetch(item, args.cache)
        except (ChecksumError, OSError) as err:
            print(f"error: {err}")
            return 1
        note = "" if item.sha256 else " (no published checksum: digest recorded for later runs)"
        print(f"verified {path}{note}")
        files.append(str(path))
    if args.no_import:
        return 0
    out = args.out or os.path.join("runs", "weights", args.name)
    return _run_imports(items[0].source, files, out, args)
