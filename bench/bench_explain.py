"""Benchmark: seconds per face for attention maps and Grad-CAM, and per 720p frame for overlays.

Prints figures; asserts nothing. Full-size models with random weights (speed does not depend
on the weights).

    python bench/bench_explain.py [--models autoatt_b4 resnet_lstm] [--batch 8] [--repeat 3]
"""

from __future__ import annotations

import argparse
import functools
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


def _report(name: str, faces: int, what: str, seconds: float, extra: str = "") -> None:
    print(f"{name:12s} {what:26s} {seconds / faces * 1000:8.1f} ms/face{extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["autoatt_b4", "resnet_lstm"])
    parser.add_argument("--batch", type=int, default=8, help="faces per call (clips: // T)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from tfdeepfake import create_model
    from tfdeepfake.explain import attention_heatmap, gradcam, has_attention, write_heatmap_video

    rng = np.random.default_rng(0)
    for name in args.models:
        model = create_model(name)
        preset = model.preset
        size = preset.input_size
        if preset.sequence:  # --batch counts faces: whole clips of preset.frames frames
            shape = (max(1, args.batch // preset.frames), preset.frames, size, size, 3)
        else:
            shape = (args.batch, size, size, 3)
        x = rng.normal(size=shape).astype("float32")
        faces = int(np.prod(shape[:-3]))
        report = functools.partial(_report, name, faces)
        report("forward eager", _timed(args.repeat, model, x), f"  ({faces} faces)")
        report("forward predict_on_batch", _timed(args.repeat, model.predict_on_batch, x))
        if has_attention(model):
            report("attention map (compiled)", _timed(args.repeat, attention_heatmap, model, x))
        report("Grad-CAM eager", _timed(args.repeat, gradcam, model, x, None, "fake", False))
        start = time.perf_counter()
        gradcam(model, x, compiled=True)
        trace = time.perf_counter() - start
        traced = _timed(args.repeat, gradcam, model, x, None, "fake", True)
        report("Grad-CAM traced", traced, f"  (first call with trace {trace:.1f} s)")

    frames = [rng.integers(0, 255, (720, 1280, 3), dtype=np.uint8) for _ in range(32)]
    boxes = [[(500, 200, 800, 500)]] * 32
    maps = [[rng.random((224, 224))]] * 32
    with tempfile.TemporaryDirectory() as tmp:
        t = _timed(1, write_heatmap_video, frames, boxes, maps, 25, f"{tmp}/v.mp4")
    print(f"heatmap video 1280x720: {t / 32 * 1000:.1f} ms/frame (overlay + mp4v encode)")


if __name__ == "__main__":
    main()
