"""`tfdeepfake models`: list the presets with their parameter counts and input contracts."""

from __future__ import annotations

import argparse
import gc
import json
import time
from typing import Any


def register(subparsers) -> None:
    """Add `models [NAMES...] [--json] [--no-params]`."""
    parser = subparsers.add_parser(
        "models",
        help="list the model presets: parameters and input contract",
        description=(
            "Print every preset (or the NAMES given): family, parameter count (each model is "
            "built with random weights to count them; full-size B7 takes seconds), input "
            "contract and description."
        ),
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="presets to show (default: all)")
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of text")
    parser.add_argument(
        "--no-params", action="store_true", help="skip building the models (no parameter counts)"
    )
    parser.set_defaults(func=_run)


def describe_preset(name: str, count_params: bool = True) -> dict[str, Any]:
    """One preset as a JSON-serialisable dict; builds the model when ``count_params``."""
    import keras

    from tfdeepfake.models import create_model, get_preset

    preset = get_preset(name)
    entry: dict[str, Any] = {
        "name": preset.name,
        "family": preset.family,
        "description": preset.description,
        "contract": preset.contract(),
        "config": preset.config,
    }
    if count_params:
        start = time.perf_counter()
        model = create_model(name)
        entry["parameters"] = int(model.count_params())
        entry["build_seconds"] = round(time.perf_counter() - start, 2)
        del model
        keras.backend.clear_session()
        gc.collect()
    return entry


def _format(entry: dict[str, Any]) -> str:
    c = entry["contract"]
    params = f"{entry['parameters']:,} parameters" if "parameters" in entry else ""
    if "error" in entry:
        params = f"FAILED: {entry['error']}"
    size = c["input_size"]
    shape = f"(N, T, {size}, {size}, 3)" if c["sequence"] else f"(N, {size}, {size}, 3)"
    if entry["family"] == "ensemble":
        shape = f"(N, T, {size}, {size}, 3) raw [0, 255] crops"
    mean = ", ".join(f"{v:.3f}" for v in c["mean"])
    std = ", ".join(f"{v:.3f}" for v in c["std"])
    return "\n".join(
        [
            f"{entry['name']}  [{entry['family']}]  {params}".rstrip(),
            f"  input {shape}, {c['frames']} frames per video, labels {c['label_convention']}",
            f"  normalise (x/255 - [{mean}]) / [{std}]; face margin {c['face_margin']:.3g}, "
            f"crop {c['crop_mode']}; aggregation {c['aggregation']}",
            f"  {entry['description']}",
        ]
    )


def _run(args: argparse.Namespace) -> int:
    from tfdeepfake.models import list_models

    known = list_models()
    names = args.names or known
    status = 0
    entries = []
    for name in names:
        if name not in known:
            print(f"error: unknown model {name!r}. Known models: {', '.join(known)}.")
            status = 1
            continue
        try:
            entry = describe_preset(name, count_params=not args.no_params)
        except Exception as err:  # one failing preset must not hide the others
            entry = describe_preset(name, count_params=False)
            entry["error"] = f"{type(err).__name__}: {err}"
            status = 1
        entries.append(entry)
        if not args.json:
            print(_format(entry), flush=True)
    if args.json:
        print(json.dumps(entries, indent=2, default=list))
    return status
