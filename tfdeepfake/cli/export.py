"""`tfdeepfake export`: SavedModel for TF Serving, TFLite (LiteRT) with a parity report, .keras."""

from __future__ import annotations

import argparse
import sys

from tfdeepfake.cli import native_lines_dropped
from tfdeepfake.cli.extract import positive_int
from tfdeepfake.export.caps import MAX_ENCODED_BYTES, MAX_IMAGES, MAX_SIDE, ServingCaps

DEFAULT_OUT = {"saved_model": "saved_models", "tflite": "exports/tflite", "keras": "exports/keras"}
# What LiteRT's converter and interpreter print on every run (dropped unless --verbose).
LITERT_NOTICES = ("INFO: Created TensorFlow Lite XNNPACK delegate", "fully_quantize: ")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `export` sub-command."""
    p = subparsers.add_parser(
        "export",
        help="export a model as a SavedModel (TF Serving), .tflite (LiteRT) or .keras file",
        description=(
            "Export a detector. saved_model: a new version folder <out>/<name>/<version>/ with "
            "signatures serving_default (uint8 crops of any size) and predict_encoded "
            "(JPEG/PNG bytes). tflite: <out>/<name>.<quantize>.tflite plus a parity report "
            "against the Keras model. keras: <out>/<name>.keras."
        ),
    )
    p.add_argument("--model", help="preset name (see `tfdeepfake models`)")
    p.add_argument(
        "--weights",
        help="training run folder, .weights.h5 or .keras file "
        "(default: random init, for trying the export only)",
    )
    p.add_argument("--format", choices=("saved_model", "tflite", "keras"), default="saved_model")
    p.add_argument(
        "--quantize",
        nargs="+",
        choices=("none", "fp16", "dynamic", "int8"),
        default=["none"],
        help="TFLite quantization(s), one file each (int8 needs --calibration)",
    )
    p.add_argument(
        "--calibration",
        metavar="DIR",
        help="face crops for int8 calibration and the parity check: TFRecord shards "
        "or a folder of images",
    )
    p.add_argument(
        "--labelled",
        metavar="DIR",
        help="labelled faces (shards, or images under real/ and fake/) for the AUC "
        "part of the parity report",
    )
    p.add_argument("--name", help="exported model name, a plain file name written under --out "
                   "(default: the preset name)")
    p.add_argument(
        "--out",
        metavar="DIR",
        help="output folder (default: saved_models/, exports/tflite/ or exports/keras/ by format)",
    )
    p.add_argument(
        "--limit",
        type=positive_int,
        default=256,
        help="most faces read from --calibration / --labelled (default 256)",
    )
    caps = p.add_argument_group(
        "serving caps (--format saved_model)",
        "what one request may hold, checked in the exported graph before any decoding or "
        "resizing; recorded in assets.extra/tfdeepfake.json as serving_caps",
    )
    caps.add_argument("--max-batch", type=int, default=MAX_IMAGES, metavar="N",
                      help=f"images (clip models: frames) per request (default {MAX_IMAGES})")
    caps.add_argument("--max-side", type=int, default=MAX_SIDE, metavar="PX",
                      help=f"pixels per image side (default {MAX_SIDE})")
    caps.add_argument("--max-encoded-bytes", type=int, default=MAX_ENCODED_BYTES,
                      metavar="BYTES", help="bytes per JPEG/PNG image of predict_encoded "
                      f"(default {MAX_ENCODED_BYTES} = 16 MiB)")
    p.set_defaults(func=run)


def _caps(args: argparse.Namespace) -> ServingCaps:
    """The ``ServingCaps`` the flags ask for (``ValueError`` naming the flag when bad)."""
    return ServingCaps(args.max_batch, args.max_side, args.max_encoded_bytes)


def _fail(message: str) -> int:
    print(f"tfdeepfake export: error: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Run the export; exit code 0 on success, 1 when a parity check fails, 2 on bad input."""
    if args.model is None and args.weights is None:
        return _fail("pass --model NAME (see `tfdeepfake models`) or --weights RUN_DIR.")
    if args.format != "tflite" and (args.quantize != ["none"] or args.calibration or args.labelled):
        return _fail("--quantize, --calibration and --labelled apply to --format tflite only.")
    if "int8" in args.quantize and not args.calibration:
        return _fail(
            "--quantize int8 needs --calibration DIR (TFRecord shards from "
            "`tfdeepfake extract`, or a folder of face images)."
        )
    custom_caps = (args.max_batch, args.max_side, args.max_encoded_bytes) != (
        MAX_IMAGES, MAX_SIDE, MAX_ENCODED_BYTES)
    if args.format != "saved_model" and custom_caps:
        return _fail("--max-batch, --max-side and --max-encoded-bytes apply to "
                     "--format saved_model only.")
    out = args.out or DEFAULT_OUT[args.format]
    try:
        caps = _caps(args)
        from tfdeepfake.export.loading import export_keras, load_for_export, plain_name

        if args.name is not None:
            plain_name(args.name)
        model, preset, source = load_for_export(args.model, args.weights)
        if args.format == "keras":
            print(f"Wrote {export_keras(model, out, args.name)}")
            return 0
        if args.format == "saved_model":
            from tfdeepfake.export.saved_model import export_saved_model

            path = export_saved_model(model, out, args.name, preset, {"weights": source}, caps)
            print(f"Wrote SavedModel version {path.name} of {args.name or preset.name}: {path}")
            print(f"Serving caps: {caps.max_batch} images per request, {caps.max_side} px "
                  f"per side, {caps.max_encoded_bytes} bytes per encoded image")
            print(f"Inspect it: saved_model_cli show --dir {path} --all")
            return 0
        if args.verbose:
            return _export_tflite(args, model, preset, source, out)
        with native_lines_dropped(*LITERT_NOTICES):
            return _export_tflite(args, model, preset, source, out)
    except (ValueError, FileNotFoundError) as err:
        return _fail(str(err))
    except RuntimeError as err:  # e.g. tflite.ConversionError: an op LiteRT cannot run
        print(f"tfdeepfake export: {err}", file=sys.stderr)
        return 1


def _export_tflite(args, model, preset, source: str, out: str) -> int:
    import numpy as np

    from tfdeepfake.export.calibration import load_faces
    from tfdeepfake.export.parity import (
        format_report,
        parity_report,
        recalibrate_batchnorm,
        write_report,
    )
    from tfdeepfake.export.signatures import input_kind
    from tfdeepfake.export.tflite import check_quantization, export_tflite, tflite_input_shape

    for quantize in args.quantize:  # before any face is read
        check_quantization(model, preset, quantize)
    clips = input_kind(model, preset) == "clip"  # the ensemble too: it scores clips
    calibration = (load_faces(args.calibration, preset, args.limit, clips)
                   if args.calibration else None)
    labelled = load_faces(args.labelled, preset, args.limit, clips) if args.labelled else None
    for faces in (calibration, labelled):
        for line in faces.skipped if faces else ():
            print(f"WARNING skipped {line}", file=sys.stderr)
    if source == "random-init":
        faces = calibration or labelled
        if faces is not None:
            recalibrate_batchnorm(model, preset, faces.images)
            print(
                "Random weights: BatchNorm statistics set from the given faces, so the "
                "parity figures mean something.",
                file=sys.stderr,
            )
    results = export_tflite(
        model,
        out,
        args.quantize,
        calibration.images if calibration else None,
        args.name,
        preset,
        {"weights": source},
    )
    if labelled is not None:
        images, labels, data = labelled.images, labelled.labels, labelled.source
    elif calibration is not None:
        images, labels, data = calibration.images, calibration.labels, calibration.source
    else:
        shape = (16, *tflite_input_shape(model, preset)[1:])
        images = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
        labels, data = None, "random pixels (no --calibration or --labelled given)"
    within = True
    for result in results:
        print(f"Wrote {result.path} ({result.size_bytes / 2**20:.2f} MB)")
        report = parity_report(model, preset, result.path, images, labels, data)
        report_path = write_report(report, result.path.with_suffix(".parity.json"))
        print(format_report(report))
        print(f"Parity report: {report_path}")
        within = within and report["within_tolerance"]
    return 0 if within else 1
