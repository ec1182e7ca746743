"""Train a tiny detector that learns: real faces from packages vs. faces we manipulate.

No deepfake data ships anywhere, but real faces do: scikit-image's ``lfw_subset`` (100 small
face crops), its ``astronaut`` and matplotlib's ``grace_hopper``. This example makes the fakes
itself with a classical face swap: the inner face (eyes, nose, mouth) of *another* person,
passed through a low-resolution "generator" (down- and up-sampling, as face-swap networks
output small faces), colour-matched to the target and pasted with a feathered elliptical
mask. Each face becomes a short "video" track of jittered frames, real and fake alike.

Identities are split three ways: 60 lfw faces train, 10 pick the best checkpoint
(validation), and the held-out set's targets *and* sources (30 lfw faces, the astronaut and
Grace Hopper) are faces the model never saw. We write TFRecord shards, train
``b7_ssim_tiny`` on CPU for a few hundred steps with ``tfdeepfake.training.train``, reload the
best weights with ``load_run`` and measure the held-out frame- and video-level AUC.

Run:  python examples/train_tiny.py --out /tmp/train_tiny   (about 2-4 minutes on 2 cores)
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

import cv2
import numpy as np

# -- hyper-parameters ----------------------------------------------------------------------
MODEL = "b7_ssim_tiny"  # 48 px input; its SSIM branch compares the face with a smoothed copy
CROP_SIZE = 48  # stored crop side = the model's input (no resize blurs the evidence away)
FRAMES = 4  # frames per track
HELD_OUT = 30  # lfw identities kept for the held-out set (plus astronaut and Grace Hopper)
VAL = 10  # lfw identities that pick the best checkpoint (neither trained on nor tested)
STEPS = 300
BATCH_SIZE = 16
LEARNING_RATE = 1e-3

# Face boxes (x, y, w, h) found by MTCNN in the two colour images (fixed, so no detector runs).
COLOUR_FACES = {"astronaut": (182, 64, 83, 107), "grace_hopper": (178, 110, 173, 220)}


# -- 1. real faces ---------------------------------------------------------------------------
def _square_crop(image: np.ndarray, box, margin: float, size: int) -> np.ndarray:
    x, y, w, h = box
    side = max(w, h) * (1 + 2 * margin)
    cx, cy = x + w / 2, y + h / 2
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    x1, y1 = int(round(cx + side / 2)), int(round(cy + side / 2))
    pad = max(0, -x0, -y0, x1 - image.shape[1], y1 - image.shape[0])
    padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REFLECT)
    crop = padded[y0 + pad : y1 + pad, x0 + pad : x1 + pad]
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)


def real_faces(size: int = CROP_SIZE) -> dict[str, np.ndarray]:
    """Identity name -> one RGB uint8 face crop (size, size, 3), from installed packages."""
    import matplotlib
    import skimage.data

    faces = {}
    lfw = skimage.data.lfw_subset()[:100]  # the first 100 are faces (25 x 25, grey)
    for i, grey in enumerate(lfw):
        rgb = np.repeat((grey * 255).astype(np.uint8)[..., None], 3, axis=-1)
        faces[f"lfw{i:03d}"] = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_CUBIC)
    hopper = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    images = {
        "astronaut": skimage.data.astronaut(),
        "grace_hopper": cv2.cvtColor(cv2.imread(str(hopper)), cv2.COLOR_BGR2RGB),
    }
    for name, box in COLOUR_FACES.items():
        faces[name] = _square_crop(images[name], box, margin=0.0, size=size)
    return faces


# -- 2. the manipulation ------------------------------------------------------------------
def feathered_ellipse(size: int, rng: np.random.Generator) -> np.ndarray:
    """A soft (size, size) mask in [0, 1] over the eyes, nose and mouth."""
    mask = np.zeros((size, size), np.float32)
    centre = (int(size * rng.uniform(0.47, 0.53)), int(size * rng.uniform(0.53, 0.6)))
    axes = (int(size * rng.uniform(0.26, 0.32)), int(size * rng.uniform(0.3, 0.36)))
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 1.0, -1)
    return cv2.GaussianBlur(mask, (0, 0), sigmaX=size / 16)


def face_swap(
    target: np.ndarray, source: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Paste ``source``'s inner face on ``target``: (fake uint8 RGB, SSIM mask uint8).

    The source goes through a low-resolution generator stand-in (resized to 30-45 % and back),
    is colour-matched to the target inside the mask (per-channel mean and std), and is
    blended with a feathered ellipse. The mask is ``255 * (1 - SSIM)`` of fake vs. target.
    """
    from skimage.metrics import structural_similarity

    size = target.shape[0]
    low = max(6, int(size * rng.uniform(0.3, 0.45)))
    generated = cv2.resize(
        cv2.resize(source, (low, low), interpolation=cv2.INTER_AREA),
        (size, size),
        interpolation=cv2.INTER_LINEAR,
    ).astype(np.float32)
    alpha = feathered_ellipse(size, rng)[..., None]
    inside = alpha[..., 0] > 0.5
    tgt = target.astype(np.float32)
    for c in range(3):
        g, t = generated[..., c][inside], tgt[..., c][inside]
        generated[..., c] = (generated[..., c] - g.mean()) / (g.std() + 1e-3) * t.std() + t.mean()
    fake = np.clip(alpha * generated + (1 - alpha) * tgt, 0, 255).astype(np.uint8)
    _, ssim = structural_similarity(target, fake, channel_axis=-1, full=True, data_range=255)
    mask = np.clip(255 * (1 - ssim.mean(axis=-1)), 0, 255).astype(np.uint8)
    return fake, mask


# -- 3. tracks and shards -----------------------------------------------------------------
def jittered_frames(face: np.ndarray, rng: np.random.Generator, frames: int) -> np.ndarray:
    """``frames`` copies with small shifts, zooms and brightness changes (a face in a video)."""
    size = face.shape[0]
    out = []
    for _ in range(frames):
        scale = rng.uniform(0.95, 1.05)
        shift = rng.uniform(-0.04, 0.04, 2) * size
        matrix = cv2.getRotationMatrix2D((size / 2, size / 2), rng.uniform(-4, 4), scale)
        matrix[:, 2] += shift
        moved = cv2.warpAffine(face, matrix, (size, size), borderMode=cv2.BORDER_REFLECT)
        out.append(np.clip(moved * rng.uniform(0.9, 1.1), 0, 255).astype(np.uint8))
    return np.stack(out)


def write_split(
    folder: str,
    faces: dict[str, np.ndarray],
    split: str,
    seed: int,
    frames: int = FRAMES,
    margin: float = 0.2,
) -> int:
    """One real and one fake track per identity (the fake's source: another identity of the
    same split); returns the number of tracks written. ``margin`` is the face margin the
    crops are recorded with (the model's, so the pipeline uses them whole)."""
    from tfrecords_tools.schema import TrackRecord
    from tfrecords_tools.writer import ShardedWriter

    rng = np.random.default_rng(seed)
    names = sorted(faces)
    size = next(iter(faces.values())).shape[0]
    n = 0
    with ShardedWriter(folder, max_shard_bytes=256 * 1024) as writer:
        for i, name in enumerate(names):
            source = names[(i + 1 + rng.integers(len(names) - 1)) % len(names)]
            fake, mask = face_swap(faces[name], faces[source], rng)
            for label, face, vid in ((0, faces[name], name), (1, fake, f"{name}_x_{source}")):
                track_rng = np.random.default_rng(rng.integers(2**31))
                writer.write(
                    TrackRecord(
                        video_id=vid,
                        crops=jittered_frames(face, track_rng, frames),
                        frame_index=np.arange(frames),
                        boxes=np.tile([0, 0, size, size], (frames, 1)),
                        landmarks=np.zeros((frames, 10)),
                        scores=np.ones(frames),
                        label=label,
                        dataset="package_faces",
                        split=split,
                        crop_margin=margin,
                        original_id=name if label else "",
                        masks=np.repeat(mask[None], frames, 0) if label else None,
                    )
                )
                n += 1
    return n


def build_dataset(
    root: str,
    held_out: int = HELD_OUT,
    size: int = CROP_SIZE,
    margin: float = 0.2,
    val: int = VAL,
) -> dict:
    """Write ``root/train``, ``root/val`` (model selection) and ``root/heldout`` shards, with
    disjoint identities; the track counts."""
    faces = real_faces(size)
    lfw = sorted(k for k in faces if k.startswith("lfw"))
    test_ids = set(lfw[-held_out:]) | set(COLOUR_FACES)
    val_ids = set(lfw[-held_out - val : -held_out])
    splits = {
        "train": {k: v for k, v in faces.items() if k not in test_ids | val_ids},
        "val": {k: v for k, v in faces.items() if k in val_ids},
        "heldout": {k: v for k, v in faces.items() if k in test_ids},
    }
    return {
        f"{name}_tracks": write_split(os.path.join(root, name), split, name, seed, margin=margin)
        for seed, (name, split) in enumerate(splits.items())
    }


# -- 4. train, reload, measure ------------------------------------------------------------
def heldout_auc(run_dir: str, data: str) -> dict[str, float]:
    """Frame- and video-level AUC of the run's best weights on ``data``."""
    from tfdeepfake.data import frame_dataset
    from tfdeepfake.scoring.metrics import roc_auc
    from tfdeepfake.training import load_run

    model, preset, _ = load_run(run_dir)
    logits, labels, videos = [], [], []
    for batch in frame_dataset(data, preset, batch_size=64, training=False, with_ids=True):
        logits += model(batch["images"], training=False)["logit"].numpy().ravel().tolist()
        labels += batch["labels"].numpy().ravel().tolist()
        videos += [v.decode() for v in batch["video_id"].numpy()]
    per_video: dict[str, list] = {}
    for v, z, y in zip(videos, logits, labels):
        per_video.setdefault(v, [y, []])[1].append(z)
    return {
        "frame_auc": roc_auc(labels, logits),
        "video_auc": roc_auc(
            [y for y, _ in per_video.values()], [np.mean(z) for _, z in per_video.values()]
        ),
        "frames": len(labels),
        "videos": len(per_video),
    }


def main(
    out: str,
    steps: int = STEPS,
    batch_size: int = BATCH_SIZE,
    progress: bool = True,
    model: str = MODEL,
    size: int = CROP_SIZE,
    learning_rate: float = LEARNING_RATE,
) -> dict:
    """Build the data, train, and return the held-out AUCs and timings."""
    from tfdeepfake.models import get_preset
    from tfdeepfake.training import resolve_config, train

    start = time.perf_counter()
    counts = build_dataset(
        os.path.join(out, "data"), size=size, margin=get_preset(model).face_margin
    )
    config = resolve_config(
        model,
        overrides={
            "data": {
                "train": os.path.join(out, "data", "train"),
                "val": os.path.join(out, "data", "val"),
                "batch_size": batch_size,
                "augment": False,
            },
            "out": os.path.join(out, "run"),
            "steps": steps,
            "val_every": 50,
            "progress": progress,
            "optimizer": {"name": "adam", "learning_rate": learning_rate, "schedule": "cosine"},
            "loss": {"name": "bce", "label_clip": 0.0, "mask_weight": 0.0},
            "checkpoint": {"every_steps": 100},
        },
    )
    built = time.perf_counter()
    summary = train(config)
    trained = time.perf_counter()
    result = heldout_auc(config.out, os.path.join(out, "data", "heldout"))
    return {
        **counts,
        **result,
        "final_loss": summary["final_loss"],
        "data_seconds": built - start,
        "train_seconds": trained - built,
        "images_per_second": summary["images_per_second"],
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Train a tiny detector on package faces.")
    parser.add_argument("--out", default="/tmp/tfdeepfake_train_tiny")
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--model", default=MODEL)
    parser.add_argument("--size", type=int, default=CROP_SIZE)
    parser.add_argument("--lr", type=float, default=LEARNING_RATE)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # the trainer's progress
    print(main(args.out, args.steps, model=args.model, size=args.size, learning_rate=args.lr))
