"""Benchmark: seconds per face for attention maps and Grad-CAM, and per 720p frame for overlays.

Prints figures; asserts nothing. Full-size models with random weights (speed does not depend
on the weights).

    python bench/bench_explain.py [--models autoatt_b4 resnet_lstm] [--batch 8] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def _timed(repeat, fn, *fn_args):
    """Best of ``repeat`` timed calls of ``fn(*fn_args)``, after one warm-up call."""
    fn(*fn_args)  # warm-up (tracing, graph building)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(*fn_args)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["autoatt_b4", "resnet_lstm"])
    parser.add_argument("--batch", type=int, default=8, help="faces (clips) per call")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from tfdeepfake import create_model
    from tfdeepfake.explain import face_heatmaps, gradcam, has_attention, write_heatmap_video

    rng = np.random.default_rng(0)
    for name in args.models:
        model = create_model(name)
        preset = model.preset
        size = preset.input_size
        shape = (
            (args.batch, preset.frames, size, size, 3)
            if preset.sequence
            else (args.batch, size, size, 3)
        )
        x = rng.normal(size=shape).astype("float32")
        faces = int(np.prod(shape[:-3]))
        forward = _timed(args.repeat, model, x)
        print(f"{name:14s} forward          {forward / faces * 1000:8.1f} ms/face  ({faces} faces)")
        if has_attention(model):
            t = _timed(args.repeat, face_heatmaps, model, x)
            print(f"{name:14s} attention map    {t / faces * 1000:8.1f} ms/face")
        t = _timed(args.repeat, gradcam, model, x)
        print(f"{name:14s} Grad-CAM eager   {t / faces * 1000:8.1f} ms/face")
        start = time.perf_counter()
        gradcam(model, x, compiled=True)
        trace = time.perf_counter() - start
        t = _timed(args.repeat, lambda m, v: gradcam(m, v, compiled=True), model, x)
        print(f"{name:14s} Grad-CAM traced  {t / faces * 1000:8.1f} ms/face  (trace {trace:.1f} s)")

    frames = [rng.integers(0, 255, (720, 1280, 3), dtype=np.uint8) for _ in range(32)]
    boxes = [[(500, 200, 800, 500)]] * 32
    maps = [[rng.random((224, 224))]] * 32
    with tempfile.TemporaryDirectory() as tmp:
        t = _timed(1, write_heatmap_video, frames, boxes, maps, 25, f"{tmp}/v.mp4")
    print(f"heatmap video 1280x720: {t / 32 * 1000:.1f} ms/frame (overlay + mp4v encode)")


if __name__ == "__main__":
    main()
