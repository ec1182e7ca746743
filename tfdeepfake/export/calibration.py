"""Face crops for int8 calibration and parity checks: from TFRecord shards or an image folder.

Crops come out as uint8 RGB at the preset's input size, cut and resized by the same contract
as serving (``signatures.resize_faces``); shards are re-cropped to the preset's face margin
(``crop_mode="aligned"`` presets: aligned by the stored landmarks, ``data.align``).
Sequence presets get clips of ``preset.frames`` consecutive frames per track.

An image folder is labelled by sub-folder names: ``real/`` (0) and ``fake/`` (1); images
elsewhere get label -1 (unknown). Files that cannot be decoded are listed in ``skipped``.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfdeepfake.data.align import align_faces_uint8
from tfdeepfake.export.signatures import resize_faces
from tfdeepfake.models.presets import Preset
from tfdeepfake.safeio import walk_files
from tfrecords_tools.reader import list_shards, track_dataset
from tfrecords_tools.schema import LABEL_UNKNOWN, centre_crop, recrop_fraction
from tfrecords_tools.writer import SHARD_SUFFIX

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
LABEL_FOLDERS = {"real": 0, "fake": 1}


@dataclasses.dataclass
class FaceSet:
    """uint8 faces (M, S, S, 3) or clips (M, T, S, S, 3), labels (M,) and where they came from."""

    images: np.ndarray
    labels: np.ndarray
    source: str
    skipped: list[str] = dataclasses.field(default_factory=list)

    @property
    def labelled(self) -> bool:
        """True when every item has a 0/1 label and both classes occur (AUC is defined)."""
        return bool(len(self.labels)) and set(np.unique(self.labels)) == {0, 1}


def _resize(crops: np.ndarray, preset: Preset) -> np.ndarray:
    resized = resize_faces(tf.constant(crops), preset)
    return tf.cast(tf.round(tf.clip_by_value(resized, 0, 255)), tf.uint8).numpy()


def faces_from_shards(
    data: str | os.PathLike, preset: Preset, limit: int = 256, clips: bool | None = None
) -> FaceSet:
    """Up to ``limit`` faces, or ``preset.frames``-frame clips when ``clips`` (default: for
    sequence presets; the CLI passes what the model takes, so the ensemble gets clips),
    from TFRecord shards."""
    clips = preset.sequence if clips is None else clips
    images, labels, skipped = [], [], []
    for track in track_dataset(data).as_numpy_iterator():
        crops = np.stack([tf.io.decode_jpeg(b, channels=3).numpy() for b in track["image"]])
        if preset.crop_mode == "aligned":  # GenD: the faces aligned by their landmarks
            crops = align_faces_uint8(crops, track["landmarks"], preset.input_size)
        else:
            crops = centre_crop(
                crops, recrop_fraction(float(track["crop_margin"]), preset.face_margin)
            )
            crops = _resize(crops, preset)
        label = int(track["label"])
        name = f"{track['shard'].decode()}#{int(track['record_index'])}"
        if clips:
            if len(crops) < preset.frames:
                skipped.append(f"{name}: {len(crops)} frames < {preset.frames} (clip length)")
                continue
            for start in range(0, len(crops) - preset.frames + 1, preset.frames):
                images.append(crops[start : start + preset.frames])
                labels.append(label)
        else:
            images.extend(crops)
            labels.extend([label] * len(crops))
        if len(images) >= limit:
            break
    return _finish(images[:limit], labels[:limit], str(data), skipped, preset, clips)


def _label_of(path: Path, root: Path) -> int:
    for part in path.relative_to(root).parts[:-1]:
        if part.lower() in LABEL_FOLDERS:
            return LABEL_FOLDERS[part.lower()]
    return LABEL_UNKNOWN


def faces_from_images(
    folder: str | os.PathLike, preset: Preset, limit: int = 256, clips: bool | None = None
) -> FaceSet:
    """Up to ``limit`` face crops from image files under ``folder`` (labels from real/
    fake/), stacked into ``preset.frames``-frame clips when ``clips`` (as in
    ``faces_from_shards``)."""
    clips = preset.sequence if clips is None else clips
    root = Path(folder)
    files = [Path(p) for p in walk_files(root) if Path(p).suffix.lower() in IMAGE_SUFFIXES]
    images, labels, skipped = [], [], []
    for path in files:
        try:
            image = tf.io.decode_image(path.read_bytes(), channels=3, expand_animations=False)
        except (tf.errors.InvalidArgumentError, OSError) as err:
            skipped.append(f"{path}: cannot decode ({str(err).splitlines()[0]})")
            continue
        images.append(_resize(image.numpy()[None], preset)[0])
        labels.append(_label_of(path, root))
    if clips:
        t = preset.frames
        stacked = [np.stack(images[i : i + t]) for i in range(0, len(images) - t + 1, t)]
        clip_labels = [
            labels[i] if len(set(labels[i : i + t])) == 1 else LABEL_UNKNOWN
            for i in range(0, len(images) - t + 1, t)
        ]
        if len(images) % t:
            skipped.append(f"{len(images) % t} trailing image(s) that do not fill a {t}-frame clip")
        images, labels = stacked, clip_labels
    return _finish(images[:limit], labels[:limit], str(folder), skipped, preset, clips)


def _finish(
    images, labels, source: str, skipped: list[str], preset: Preset, clips: bool
) -> FaceSet:
    if not images:
        what = f"{preset.frames}-frame clips" if clips else "face crops"
        raise ValueError(
            f"No {what} found in {source!r} ({len(skipped)} skipped: {skipped[:3]}). Pass a folder "
            f"of *{SHARD_SUFFIX} shards (`tfdeepfake extract`) or of face images "
            f"({', '.join(IMAGE_SUFFIXES)}), with real/ and fake/ sub-folders for a labelled set."
        )
    return FaceSet(np.stack(images), np.asarray(labels, np.int64), source, skipped)


def load_faces(
    source: str | os.PathLike, preset: Preset, limit: int = 256, clips: bool | None = None
) -> FaceSet:
    """Faces from ``source``: a shard folder/file/glob, or a folder of images; clips of
    ``preset.frames`` faces when ``clips`` (default: for sequence presets).

    A folder whose shards sit in sub-folders (``train/``, ``val/``, ``test/`` as the
    quickstart writes them) is read whole.
    """
    path = Path(source)
    if not path.exists() and not any(c in str(source) for c in "*?["):
        raise FileNotFoundError(
            f"Calibration/labelled data {str(source)!r} does not exist: pass a folder of "
            f"*{SHARD_SUFFIX} shards or of face images."
        )
    if path.is_file() or (path.is_dir() and any(path.glob(f"*{SHARD_SUFFIX}"))):
        return faces_from_shards(source, preset, limit, clips)
    if path.is_dir():
        nested = [p for p in walk_files(path) if p.endswith(SHARD_SUFFIX)]
        if nested:
            return faces_from_shards(nested, preset, limit, clips)
        return faces_from_images(source, preset, limit, clips)
    list_shards(source)  # a glob: raises FileNotFoundError naming it when nothing matches
    return faces_from_shards(source, preset, limit, clips)
