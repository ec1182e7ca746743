"""Training inputs: checks of the shards before training, and feeding batches to the replicas.

Three feeders put batches on the replicas:

- ``ExactFeeder`` (``checkpoint.data_state=True``): one ``tf.data`` iterator per worker whose
  batches are split over the worker's replicas with
  ``strategy.experimental_distribute_values_from_function``. The iterator is a trackable
  object, so its state (file position, shuffle buffer, random state) is checkpointed and a
  resumed run continues with exactly the batch the dead run would have seen next.
- ``ProcessFeeder``: the JAX trainer's, one ``tf.data`` iterator per process (its share of
  the shard files and of each global batch), checkpointed the same way.
- ``DistributedFeeder``: ``strategy.distribute_datasets_from_function`` (prefetches onto the
  devices; the TPU path). Its iterator cannot be checkpointed, so a resumed run re-seeds the
  shuffle with ``seed + step`` instead of replaying the first batches: position not exact.

A dataset function has the signature ``fn(input_context, seed) -> tf.data.Dataset`` and yields
batches of ``input_context.get_per_replica_batch_size(global_batch)`` elements, each
``(images, labels)`` or ``(images, labels, masks)`` (labels (B, 1), 1 = fake).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tensorflow as tf

DatasetFn = Callable[[tf.distribute.InputContext, int], tf.data.Dataset]


def _first_track(path: str) -> dict[str, tf.Tensor] | None:
    """The first track of shard ``path`` (``None`` for an empty shard); a first record that
    cannot be read or parsed raises ``CorruptShardError`` naming the shard and the fix."""
    from tfrecords_tools.reader import CorruptShardError
    from tfrecords_tools.schema import parse_track

    try:
        for serialized in tf.data.TFRecordDataset(path).take(1):
            return parse_track(serialized)
    except tf.errors.OpError as err:  # TensorFlow's op names around its words left out
        reason = re.sub(r"\{\{.*?\}\}|\[Op:.*", "", err.message, flags=re.S).strip()
        raise CorruptShardError(path, 0, 0, reason) from None
    return None


def _first_records(files: list[str], skip_corrupt: bool) -> list[dict[str, Any]]:
    """Label and frame count of the first track of each shard (for folders without a
    manifest); with ``skip_corrupt`` an unreadable shard is warned about and left out."""
    from tfrecords_tools.reader import CorruptShardError

    out = []
    for path in files:
        try:
            track = _first_track(path)
        except CorruptShardError as err:
            if not skip_corrupt:
                raise
            warnings.warn(f"skipping: {err}", UserWarning, stacklevel=2)
            continue
        if track is not None:
            out.append(
                {
                    "label": int(track["label"]),
                    "frames": int(tf.shape(track["image"])[0]),
                    "shard": Path(path).name,
                }
            )
    return out


def shard_summary(
    data: str, skip_corrupt: bool = False
) -> tuple[list[str], list[dict[str, Any]], bool]:
    """The shard paths of ``data``, one dict per track (``label``, ``frames``, ``shard``), and
    whether that list is complete.

    Tracks come from the folder's ``manifest.jsonl`` when it lists every shard (complete),
    else from the first record of each shard (not complete; a shard whose first record is
    corrupt raises ``CorruptShardError``, or is left out with ``skip_corrupt``). Raises
    ``FileNotFoundError`` naming ``data`` when it holds no shards.
    """
    from tfrecords_tools.reader import list_shards
    from tfrecords_tools.writer import read_manifest

    files = list_shards(data)
    folder = Path(data) if Path(data).is_dir() else None
    if folder is not None:
        entries = read_manifest(folder)
        listed = {e.get("shard") for e in entries}
        if entries and {Path(f).name for f in files} <= listed:
            tracks = [{**t, "shard": e["shard"]} for e in entries for t in e.get("tracks", [])]
            return files, tracks, True
    return files, _first_records(files, skip_corrupt), False


def check_data(
    data: str,
    preset: Any,
    *,
    flag: str = "--data",
    training: bool = True,
    fakes: str = "shards",
    skip_corrupt: bool = False,
) -> dict:
    """Check shards fit the model before any training starts; a dict of counts.

    Raises ``ValueError`` naming ``data`` and the fix when a shard has no labels (label -1,
    inference-only shards), when training data holds a single class (no real track with
    ``fakes="sbi"``, which makes the fakes from the reals), when the crops were cut
    with a smaller face margin than the model's (crops too small for its input: a warning), or
    when a sequence model's clips are longer
    than every track (frame data for a clip model).
    """
    files, tracks, complete = shard_summary(data, skip_corrupt)
    if not tracks:
        raise ValueError(f"{flag} {data}: no readable track in {len(files)} shard(s). "
                         "Run `tfrecords-tools validate` on it, or re-extract the videos.")
    by_shard: dict[str, list[int]] = {}
    for t in tracks:
        by_shard.setdefault(t["shard"], []).append(int(t["label"]))
    unlabelled = sorted(s for s, labels in by_shard.items() if all(v < 0 for v in labels))
    if unlabelled:
        raise ValueError(
            f"{flag} {data}: shard(s) {', '.join(unlabelled)} carry no labels (label -1: "
            "written for inference). Re-extract them with labels (`tfdeepfake extract --labels "
            "labels.csv`) or remove them from the training folder."
        )
    labels = [int(t["label"]) for t in tracks if int(t["label"]) >= 0]
    n_fake, n_real = sum(v == 1 for v in labels), sum(v == 0 for v in labels)
    if training and fakes == "sbi" and complete and n_real == 0:
        raise ValueError(
            f"{flag} {data}: holds no real track; --fakes sbi makes its fakes from real faces. "
            "Add shards of real videos."
        )
    if training and fakes != "sbi" and complete and (n_fake == 0 or n_real == 0):
        raise ValueError(
            f"{flag} {data}: holds {n_real} real and {n_fake} fake tracks; training needs both "
            "classes. Add shards of the missing class."
        )
    readable = {t["shard"] for t in tracks}
    crops = _check_crops(next(f for f in files if Path(f).name in readable), preset, flag, data)
    if getattr(preset, "sequence", False):
        longest = max((int(t.get("frames", 0)) for t in tracks), default=0)
        if longest < preset.frames:
            raise ValueError(
                f"{flag} {data}: model {preset.name!r} takes clips of {preset.frames} frames "
                f"but the longest track in the shards has {longest} frame(s): this is frame "
                f"data. Extract with at least {preset.frames} frames per track (`tfdeepfake "
                "extract --frames N`), or train a frame model (e.g. autoatt_b4)."
            )
    return {"shards": len(files), "tracks": len(tracks), "real": n_real, "fake": n_fake, **crops}


def _check_crops(path: str, preset: Any, flag: str, data: str) -> dict:
    """The crops must hold at least the model's face margin; a face window smaller than the
    model's input (faces upsampled in training, unlike ``detect``'s) is warned about."""
    from tfdeepfake.faces.crop import stored_crop_size
    from tfrecords_tools.schema import recrop_fraction

    track = _first_track(path)
    if track is not None:
        margin, side = float(track["crop_margin"]), int(track["crop_size"])
        try:
            window = side * recrop_fraction(margin, preset.face_margin)
        except ValueError as err:
            raise ValueError(f"{flag} {data}: model {preset.name!r}: {err}") from None
        needed = stored_crop_size(preset, margin)
        if side < needed:
            warnings.warn(
                f"{flag} {data}: crops of {side} px leave model {preset.name!r} a "
                f"{window:.0f} px face, upsampled {preset.input_size / window:.2f}x to its "
                f"{preset.input_size} px input, so it trains on blurrier faces than `detect` "
                f"scores. Re-extract with `tfdeepfake extract --for {preset.name}` "
                f"({needed} px crops).",
                UserWarning,
                stacklevel=3,
            )
        return {"crop_size": side, "face_window": round(window, 1)}
    return {}


def worker_context(worker: int, workers: int) -> tf.distribute.InputContext:
    """An input context of one pipeline per worker whose 'replica' batch is the worker's batch."""
    return tf.distribute.InputContext(
        num_input_pipelines=workers, input_pipeline_id=worker, num_replicas_in_sync=workers
    )


def checkpointable_iterator(dataset: tf.data.Dataset):
    """An iterator of ``dataset`` whose position a ``tf.train.Checkpoint`` saves. Ops with
    state outside tf.data (py_function, ...) are saved without that state (with a warning)
    instead of failing the checkpoint."""
    options = tf.data.Options()
    options.experimental_external_state_policy = tf.data.experimental.ExternalStatePolicy.WARN
    return iter(dataset.with_options(options))


class ProcessFeeder:
    """This process's share of every global batch (the JAX trainer, one per process): the
    dataset function's pipeline for ``worker_context(process, processes)``, so process ``p``
    of ``P`` reads the shard files ``p, p + P, ...`` (disjoint; together every file, none
    twice) in batches of ``batch_size / P``. Checkpointable like ``ExactFeeder``."""

    def __init__(self, dataset_fn: DatasetFn, seed: int, process: int = 0, processes: int = 1):
        self.iterator = checkpointable_iterator(
            dataset_fn(worker_context(process, processes), seed)
        )

    @property
    def trackables(self) -> dict[str, Any]:
        """What a data checkpoint must hold."""
        return {"iterator": self.iterator}

    def next(self) -> Any:
        """This process's next batch (host tensors)."""
        return next(self.iterator)


class ExactFeeder(ProcessFeeder):
    """Per-worker ``tf.data`` iterator split over local replicas; checkpointable (see module)."""

    def __init__(
        self,
        strategy: tf.distribute.Strategy,
        dataset_fn: DatasetFn,
        seed: int,
        worker: int = 0,
        workers: int = 1,
    ):
        super().__init__(dataset_fn, seed, worker, workers)
        self.strategy = strategy
        self.local = strategy.num_replicas_in_sync // workers
        self.first_replica = worker * self.local

    def next(self) -> Any:
        """The next batch, as per-replica values."""
        batch = super().next()
        if self.local == 1 and self.strategy.num_replicas_in_sync == 1:
            return batch

        def piece(ctx: tf.distribute.ValueContext):
            index = ctx.replica_id_in_sync_group - self.first_replica
            return tf.nest.map_structure(lambda t: _split(t, self.local, index), batch)

        return self.strategy.experimental_distribute_values_from_function(piece)


def _split(tensor: tf.Tensor, parts: int, index: int) -> tf.Tensor:
    n = tf.shape(tensor)[0]
    size = n // parts
    return tensor[index * size : (index + 1) * size]


class DistributedFeeder:
    """``distribute_datasets_from_function`` input; not checkpointable (see module)."""

    def __init__(self, strategy: tf.distribute.Strategy, dataset_fn: DatasetFn, seed: int):
        dist = strategy.distribute_datasets_from_function(lambda ctx: dataset_fn(ctx, seed))
        self.iterator = iter(dist)

    trackables: dict[str, Any] = {}

    def next(self) -> Any:
        """The next batch, as per-replica values."""
        return next(self.iterator)
