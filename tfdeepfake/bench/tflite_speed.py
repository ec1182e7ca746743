"""TFLite (LiteRT) size, latency and parity against Keras, per model and quantization.

For each model: convert to float32 / fp16 / dynamic / int8 (int8 calibrated on real face
crops), then time one face per call on 1 and 2 threads, for each .tflite file with LiteRT
and for the Keras model (a compiled ``tf.function``, TensorFlow limited to the same threads,
in a fresh process per thread count since TensorFlow fixes its thread pools at start-up).
Parity: the largest logit difference against Keras relative to the Keras logit range on the
real crops, and the largest attention-map difference for attention models.

Real faces: MTCNN crops of the sample videos (``tfdeepfake samples`` fetches them), or
``--faces DIR`` (TFRecord shards or a folder of face images). Weights are random unless
``--weights`` is given (size and latency do not depend on them).

Usage:
    python bench/tflite_speed.py                          # the tiny models
    python bench/tflite_speed.py --full --models autoatt_b4 --repeats 20
Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

QUANTIZATIONS = ("none", "fp16", "dynamic", "int8")
TINY = ("autoatt_b4_tiny", "resnet_lstm_tiny", "b7_ssim_tiny")


def real_faces(preset, limit: int, source: str | None) -> tuple[np.ndarray, str]:
    """uint8 faces (or clips) at the preset's size from ``source`` or the sample videos."""
    from tfdeepfake.export.calibration import load_faces

    if source:
        faces = load_faces(source, preset, limit)
        return faces.images, faces.source
    import cv2

    from tfdeepfake.faces.extraction import extract_faces
    from tfdeepfake.samples import missing_samples, sample_path

    videos = ["WolfgangLanger_Pexels.mp4", "single_face.mp4", "carphone_pristine.mp4"]
    if missing_samples():
        raise SystemExit("Sample videos missing: run `tfdeepfake samples` once, or pass --faces.")
    folder = Path(tempfile.mkdtemp(prefix="bench-faces-"))
    for video in videos:
        extracted = extract_faces(
            sample_path(video),
            frames=24,
            margin=preset.face_margin,
            crop_size=preset.input_size,
            mode=preset.crop_mode,
        )
        for track in extracted.tracks:
            for i, crop in enumerate(track.crops):
                name = f"{Path(video).stem}_{track.track_id}_{i:03d}.png"
                cv2.imwrite(str(folder / name), crop[..., ::-1])
    faces = load_faces(folder, preset, limit)
    return faces.images, f"MTCNN crops of {', '.join(videos)}"


def time_calls(fn, x: np.ndarray, repeats: int) -> float:
    """Median seconds of ``fn(x)`` over ``repeats`` calls after two warm-up calls."""
    fn(x)
    fn(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def worker(args) -> None:
    """Child process: time Keras and every .tflite on ``args.threads`` threads; print JSON."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from ai_edge_litert.interpreter import Interpreter

    from tfdeepfake.export.signatures import model_input
    from tfdeepfake.models import create_model

    spec = json.loads(Path(args.worker).read_text())
    model = create_model(spec["model"])
    model.load_weights(spec["weights"])
    one = np.load(spec["faces"])[:1]

    @tf.function
    def keras_call(x):
        return model(model_input(x, model.preset), training=False)["logit"]

    result = {"keras": time_calls(keras_call, tf.constant(one), args.repeats)}
    for path in spec["tflite"]:
        runner = Interpreter(model_path=path, num_threads=args.threads).get_signature_runner()
        result[path] = time_calls(lambda x, r=runner: r(pixels=x), one, args.repeats)
    print(json.dumps(result))


def bench_model(name: str, args, work: Path) -> list[dict]:
    """Convert, check parity and time one model; rows of the printed table."""
    from tfdeepfake.export.parity import parity_report, recalibrate_batchnorm
    from tfdeepfake.export.tflite import ConversionError, check_request, export_tflite
    from tfdeepfake.models import create_model

    model = create_model(name)
    if args.weights:
        model.load_weights(args.weights)
    faces, source = real_faces(model.preset, args.limit, args.faces)
    print(f"{name}: {len(faces)} real faces ({source})", flush=True)
    weights = work / f"{name}.weights.h5"
    np.save(work / f"{name}.faces.npy", faces)
    if not args.weights:
        recalibrate_batchnorm(model, model.preset, faces[:16])  # random init: real activations
    model.save_weights(weights)
    rows, files = [], []
    quantizations = list(args.quantize)
    if "int8" in quantizations:
        try:
            check_request(model, model.preset, "int8", faces)
        except ValueError as err:  # the ensemble: its members convert one by one
            quantizations.remove("int8")
            rows.append({"model": name, "quantize": "int8", "error": str(err)[:160]})
    start = time.perf_counter()
    try:
        results = export_tflite(model, work, quantizations, faces)
    except ConversionError as err:
        print(f"  {err}", flush=True)
        return [{"model": name, "quantize": ",".join(quantizations), "error": str(err)[:160]}]
    seconds = (time.perf_counter() - start) / len(results)
    for result in results:
        report = parity_report(
            model, model.preset, result.path, faces, data_source=source, batch_size=2
        )
        files.append(str(result.path))
        rows.append(
            {
                "model": name,
                "quantize": result.quantize,
                "path": str(result.path),
                "mb": result.size_bytes / 2**20,
                "convert_s": seconds,
                "rel_diff": report["relative_logit_diff"],
                "att_diff": report.get("max_abs_attention_diff"),
                "fallback": result.float_fallback,
            }
        )
        print(
            f"  {result.quantize}: {rows[-1]['mb']:.2f} MB, "
            f"logit diff {100 * report['relative_logit_diff']:.3g}% of the range "
            f"{report['keras_logit_range']:.3g}",
            flush=True,
        )
    spec = work / f"{name}.spec.json"
    spec.write_text(
        json.dumps(
            {
                "model": name,
                "weights": str(weights),
                "faces": str(work / f"{name}.faces.npy"),
                "tflite": files,
            }
        )
    )
    for threads in args.threads:
        out = (
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "tfdeepfake.bench.tflite_speed",
                    "--worker",
                    str(spec),
                    "--threads-one",
                    str(threads),
                    "--repeats",
                    str(args.repeats),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        timing = json.loads(out)
        for row in rows:
            row[f"keras_ms_{threads}"] = 1000 * timing["keras"]
            if "path" in row:
                row[f"ms_{threads}"] = 1000 * timing[row["path"]]
    return rows


def print_table(rows: list[dict], threads: list[int]) -> None:
    head = f"{'model':18} {'quant':8} {'MB':>7} {'logit diff':>10} {'att diff':>9}"
    for t in threads:
        head += f" {f'ms/face {t}t':>12} {f'keras {t}t':>9} {'speed-up':>8}"
    print("\n" + head)
    for row in rows:
        if "error" in row:
            print(f"{row['model']:18} {row['quantize']:8} not converted: {row['error']}")
            continue
        att = "-" if row["att_diff"] is None else f"{row['att_diff']:.3g}"
        line = (
            f"{row['model']:18} {row['quantize']:8} {row['mb']:7.2f} "
            f"{100 * row['rel_diff']:9.3g}% {att:>9}"
        )
        for t in threads:
            ms, keras_ms = row[f"ms_{t}"], row[f"keras_ms_{t}"]
            line += f" {ms:12.2f} {keras_ms:9.2f} {keras_ms / ms:7.2f}x"
        print(line + (" (float fallback)" if row["fallback"] else ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(TINY))
    parser.add_argument("--full", action="store_true", help="allow full-size models (slow)")
    parser.add_argument("--quantize", nargs="+", default=list(QUANTIZATIONS))
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--limit", type=int, default=64, help="real faces for int8 and parity")
    parser.add_argument("--faces", help="face crops: TFRecord shards or an image folder")
    parser.add_argument("--weights", help=".weights.h5 for the (single) model")
    parser.add_argument("--out", help="keep the .tflite files here (default: a temp folder)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--threads-one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.worker:
        args.threads = args.threads_one
        worker(args)
        return 0
    big = [m for m in args.models if not m.endswith("_tiny")]
    if big and not args.full:
        parser.error(f"{big} are full-size (minutes per conversion): add --full to run them.")
    work = Path(args.out or tempfile.mkdtemp(prefix="tflite-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = [row for name in args.models for row in bench_model(name, args, work)]
    print_table(rows, args.threads)
    print(f"\nFiles in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
