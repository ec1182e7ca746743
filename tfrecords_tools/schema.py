"""The TFRecord schema: one ``tf.train.SequenceExample`` per face track.

Context (one value per track):
    video_id       bytes   stable id of the video (file stem unless the labels say otherwise)
    source_path    bytes   path of the video as given by the user
    label          int64   1 = fake, 0 = real, -1 = unknown (inference-only shards)
    dataset        bytes   e.g. "dfdc", "ffpp", "celebdf", "csv"
    split          bytes   "train", "val", "test" or ""
    original_id    bytes   video id of the original a fake was made from ("" if none)
    track_id       int64   index of the face track within the video (0 = first)
    fps            float   frames per second read from the container (0 if unknown)
    frame_count    int64   frames actually decodable (not the container's claim)
    crop_size      int64   side of the stored square crops in pixels
    crop_margin    float   margin (fraction of the box side) the stored crops were cut with

Feature lists (one entry per sampled frame of the track):
    image          bytes   JPEG-encoded RGB face crop, crop_size x crop_size
    frame_index    int64   index of the frame in the video
    box            float   [x0, y0, x1, y1] face box in source-frame pixels
    landmarks      float   10 values: (x, y) of left eye, right eye, nose, mouth left, mouth right,
                           in crop pixels
    score          float   detector confidence
    mask           bytes   PNG grey SSIM mask (255 * (1 - SSIM)) for fakes with a known
                           original, same size as the crop; b"" where there is none

Crops are square around the box centre with side ``(1 + 2 * crop_margin) * max(w, h)``;
a preset with a smaller margin takes a centre crop of fraction
``(1 + 2 * m) / (1 + 2 * crop_margin)`` (see ``recrop_fraction``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from tfdeepfake.safeio import decode_text, encode_text
from tfrecords_tools.margins import recrop_fraction  # noqa: F401  (re-exported)

SCHEMA_VERSION = 1
LABEL_REAL, LABEL_FAKE, LABEL_UNKNOWN = 0, 1, -1

CONTEXT_FEATURES = {
    "video_id": tf.io.FixedLenFeature([], tf.string),
    "source_path": tf.io.FixedLenFeature([], tf.string, default_value=b""),
    "label": tf.io.FixedLenFeature([], tf.int64, default_value=LABEL_UNKNOWN),
    "dataset": tf.io.FixedLenFeature([], tf.string, default_value=b""),
    "split": tf.io.FixedLenFeature([], tf.string, default_value=b""),
    "original_id": tf.io.FixedLenFeature([], tf.string, default_value=b""),
    "track_id": tf.io.FixedLenFeature([], tf.int64, default_value=0),
    "fps": tf.io.FixedLenFeature([], tf.float32, default_value=0.0),
    "frame_count": tf.io.FixedLenFeature([], tf.int64, default_value=0),
    "crop_size": tf.io.FixedLenFeature([], tf.int64),
    "crop_margin": tf.io.FixedLenFeature([], tf.float32),
}
SEQUENCE_FEATURES = {
    "image": tf.io.FixedLenSequenceFeature([], tf.string),
    "frame_index": tf.io.FixedLenSequenceFeature([], tf.int64),
    "box": tf.io.FixedLenSequenceFeature([4], tf.float32),
    "landmarks": tf.io.FixedLenSequenceFeature([10], tf.float32),
    "score": tf.io.FixedLenSequenceFeature([], tf.float32),
    "mask": tf.io.FixedLenSequenceFeature([], tf.string),
}


@dataclasses.dataclass
class TrackRecord:
    """One face track in memory: what a SequenceExample stores (arrays are per frame)."""

    video_id: str
    crops: np.ndarray  # (T, S, S, 3) uint8 RGB
    frame_index: np.ndarray  # (T,) int
    boxes: np.ndarray  # (T, 4) float
    landmarks: np.ndarray  # (T, 10) float
    scores: np.ndarray  # (T,) float
    label: int = LABEL_UNKNOWN
    source_path: str = ""
    dataset: str = ""
    split: str = ""
    original_id: str = ""
    track_id: int = 0
    fps: float = 0.0
    frame_count: int = 0
    crop_margin: float = 0.5
    masks: np.ndarray | None = None  # (T, S, S) uint8, or None
    jpeg_quality: int = 95

    def __post_init__(self):
        n = len(self.crops)
        if n == 0:
            raise ValueError(f"Track {self.video_id}/{self.track_id} has no frames.")
        crops = np.asarray(self.crops)
        if crops.ndim != 4 or crops.shape[-1] != 3 or crops.shape[1] != crops.shape[2]:
            raise ValueError(f"crops must be (T, S, S, 3) uint8, got {crops.shape}.")
        for name, arr, width in (
            ("frame_index", self.frame_index, None),
            ("boxes", self.boxes, 4),
            ("landmarks", self.landmarks, 10),
            ("scores", self.scores, None),
        ):
            arr = np.asarray(arr)
            if len(arr) != n or (width is not None and arr.shape[-1] != width):
                raise ValueError(f"{name} must have {n} rows of width {width}, got {arr.shape}.")
        if self.label not in (LABEL_REAL, LABEL_FAKE, LABEL_UNKNOWN):
            raise ValueError(f"label must be 0 (real), 1 (fake) or -1 (unknown), got {self.label}.")

    @property
    def crop_size(self) -> int:
        return int(np.asarray(self.crops).shape[1])


def _bytes(values):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=list(values)))


def _ints(values):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(v) for v in values]))


def _floats(values):
    return tf.train.Feature(float_list=tf.train.FloatList(value=[float(v) for v in values]))


def encode_track(track: TrackRecord) -> bytes:
    """Serialise a track to SequenceExample bytes (JPEG crops, PNG masks)."""
    context = tf.train.Features(feature={
        "video_id": _bytes([encode_text(track.video_id)]),
        "source_path": _bytes([encode_text(track.source_path)]),
        "label": _ints([track.label]),
        "dataset": _bytes([encode_text(track.dataset)]),
        "split": _bytes([encode_text(track.split)]),
        "original_id": _bytes([encode_text(track.original_id)]),
        "track_id": _ints([track.track_id]),
        "fps": _floats([track.fps]),
        "frame_count": _ints([track.frame_count]),
        "crop_size": _ints([track.crop_size]),
        "crop_margin": _floats([track.crop_margin]),
    })
    crops = np.asarray(track.crops, dtype=np.uint8)
    images = [tf.io.encode_jpeg(c, quality=track.jpeg_quality).numpy() for c in crops]
    if track.masks is None:
        masks = [b""] * len(crops)
    else:
        masks = [tf.io.encode_png(np.asarray(m, np.uint8)[..., None]).numpy() for m in track.masks]
    lists = {
        "image": [_bytes([b]) for b in images],
        "frame_index": [_ints([i]) for i in np.asarray(track.frame_index)],
        "box": [_floats(b) for b in np.asarray(track.boxes, np.float32)],
        "landmarks": [_floats(lm) for lm in np.asarray(track.landmarks, np.float32)],
        "score": [_floats([s]) for s in np.asarray(track.scores, np.float32)],
        "mask": [_bytes([m]) for m in masks],
    }
    feature_lists = tf.train.FeatureLists(
        feature_list={k: tf.train.FeatureList(feature=v) for k, v in lists.items()}
    )
    example = tf.train.SequenceExample(context=context, feature_lists=feature_lists)
    return example.SerializeToString()


def parse_track(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
    """Parse one serialised track into a flat dict of tensors (graph-safe; images still encoded).

    Context keys keep their names; per-frame keys are ``image``, ``frame_index``, ``box``,
    ``landmarks``, ``score``, ``mask`` with a leading time axis.
    """
    context, sequence = tf.io.parse_single_sequence_example(
        serialized, context_features=CONTEXT_FEATURES, sequence_features=SEQUENCE_FEATURES
    )
    return {**context, **sequence}


def decode_track(serialized: bytes) -> TrackRecord:
    """Eagerly decode serialised bytes back to a ``TrackRecord`` (for tools and tests)."""
    t = {k: v.numpy() for k, v in parse_track(tf.constant(serialized)).items()}
    crops = np.stack([tf.io.decode_jpeg(b, channels=3).numpy() for b in t["image"]])
    has_mask = [len(m) > 0 for m in t["mask"]]
    masks = None
    if any(has_mask):
        blank = np.zeros(crops.shape[1:3], np.uint8)
        masks = np.stack([
            tf.io.decode_png(m, channels=1).numpy()[..., 0] if ok else blank
            for m, ok in zip(t["mask"], has_mask)
        ])
    return TrackRecord(
        video_id=decode_text(t["video_id"]), crops=crops, frame_index=t["frame_index"],
        boxes=t["box"], landmarks=t["landmarks"], scores=t["score"], label=int(t["label"]),
        source_path=decode_text(t["source_path"]), dataset=decode_text(t["dataset"]),
        split=decode_text(t["split"]), original_id=decode_text(t["original_id"]),
        track_id=int(t["track_id"]), fps=float(t["fps"]), frame_count=int(t["frame_count"]),
        crop_margin=float(t["crop_margin"]), masks=masks,
    )


def centre_crop(crops: np.ndarray, fraction: float) -> np.ndarray:
    """The centre ``fraction`` of the side of square crops (..., S, S, C), still uint8."""
    side = crops.shape[-2]
    keep = max(1, int(round(side * fraction)))
    start = (side - keep) // 2
    return crops[..., start : start + keep, start : start + keep, :]
