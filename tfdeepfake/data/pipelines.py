"""tf.data input pipelines over track shards: frames, clips and triplets, ready for a model.

Every pipeline: lists the shards, checks them (``balance.preflight``), shards the files by
``input_context`` (multi-worker) *before* interleaving them in parallel, shuffles encoded
frames in a memory-bounded buffer, balances real/fake, decodes, re-crops to the preset's
margin and size, augments (training), normalises with the preset's mean/std, batches per
replica and prefetches (AUTOTUNE). Training pipelines repeat forever; evaluation pipelines
read every frame once, in file order. All of it is TF ops in the graph (no ``py_function``).

Elements (labels float32 (B, 1), 1 = fake):

* ``frame_dataset``: ``(images, labels)``; ``(images, labels, masks)`` with ``with_masks``
  (masks float32 (B, S, S, 1) in [0, 1], zeros where a frame has none); with ``with_ids`` a
  dict ``{"images", "labels", ["masks"], "video_id", "track_id", "frame_index", "dataset",
  "split"}``.
* ``clip_dataset``: ``(clips (B, T, S, S, 3), labels)`` (dict with ``with_ids``).
* ``fakes="sbi"`` (frame and clip datasets): the shards' real tracks only; each real frame
  (clip) is followed by its self-blended fake (``tfdeepfake.data.sbi``, label 1, mask = the
  blend mask), so batches hold (real, fake) pairs of the same face, as in SBI's training.
* ``triplet_dataset``: ``(images (3K, S, S, 3), labels (3K, 1))``, rows ``3k, 3k+1, 3k+2`` =
  anchor, positive, negative of triplet k; even k are (fake, fake, real), odd k (real, real,
  fake) as in AutoAttB4ST.
"""

from __future__ import annotations

import functools
import logging

import tensorflow as tf

from tfdeepfake.data import balance as bal
from tfdeepfake.data.align import align_faces, align_landmarks
from tfdeepfake.data.augment import AugmentConfig, apply_augment, resolve_augment
from tfdeepfake.data.crops import normalise, recrop, recrop_fraction_tf, recrop_landmarks
from tfdeepfake.data.sbi import self_blend
from tfrecords_tools import reader

log = logging.getLogger(__name__)

_ID_KEYS = ("video_id", "track_id", "frame_index", "dataset", "split")
TRIPLET_PATTERN = (1, 1, 0, 0, 0, 1)  # labels of two consecutive triplets
FAKES = ("shards", "sbi")


def _replica_batch(batch_size: int, input_context) -> int:
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}.")
    if input_context is None:
        return batch_size
    return input_context.get_per_replica_batch_size(batch_size)


def _base_seed(seed: int, input_context) -> tf.Tensor:
    pipeline = 0 if input_context is None else input_context.input_pipeline_id
    return tf.constant([seed, pipeline], tf.int64)


def _check_label(label: tf.Tensor, shard: tf.Tensor) -> tf.Tensor:
    message = tf.strings.format(
        "Training data {} holds a track without a label (-1, written for inference); "
        "re-extract it with labels or remove it.",
        (shard,),
    )
    check = tf.debugging.Assert(label >= 0, [message])
    with tf.control_dependencies([check]):
        return tf.identity(label)


def _stored_mask(frame: dict, image: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """The frame's SSIM mask, float32 (H, W, 1) in [0, 255] (zeros without one), and whether
    it has one."""
    has_mask = tf.strings.length(frame["mask"]) > 0
    raw = tf.cond(
        has_mask,
        lambda: tf.cast(tf.io.decode_png(frame["mask"], channels=1), tf.float32),
        lambda: tf.zeros(tf.concat([tf.shape(image)[:2], [1]], 0), tf.float32),
    )
    return raw, has_mask


def _blended(frame: dict, image: tf.Tensor, seed) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """(image, mask in [0, 255], has_mask): the frame's self-blended fake when its
    ``self_blend`` flag is set, else the decoded image and its stored mask."""

    def fake():
        blend, mask = self_blend(image, frame["landmarks"], seed, crop_margin=frame["crop_margin"])
        return blend, mask * 255.0, tf.constant(True)

    def real():
        raw, has_mask = _stored_mask(frame, image)
        return tf.cast(image, tf.float32), raw, has_mask

    return tf.cond(frame["self_blend"], fake, real)


def _decode_and_crop(frame: dict, preset, need_mask: bool, seed=None) -> dict:
    """Decode a frame (self-blend it when it is flagged ``self_blend``, with ``seed``) and
    re-cut it to the preset: image float32 (S, S, 3) in [0, 255]."""
    size = preset.input_size
    if preset.crop_mode == "stretch":
        raise ValueError(
            f"Preset {preset.name!r} stretches the face box (crop_mode='stretch', the imported "
            "ResNeXt-LSTM weights' inference contract); shards keep square crops only. Train "
            "with crop_mode='square' (e.g. the registry's resnet_lstm preset)."
        )
    image = tf.io.decode_jpeg(frame["image"], channels=3)
    if "self_blend" in frame:
        image, raw, has_mask = _blended(frame, image, seed)
    elif need_mask:
        raw, has_mask = _stored_mask(frame, image)
    if preset.crop_mode == "aligned":
        return _decode_and_align(image, frame, size, need_mask and (raw, has_mask))
    fraction = recrop_fraction_tf(frame["crop_margin"], preset.face_margin)
    out = {"image": recrop(image[None], fraction, size)[0]}
    if need_mask:
        stored = tf.shape(image)[:2]
        out["mask"] = recrop(raw[None], fraction, size)[0] / 255.0
        out["has_mask"] = has_mask
        out["landmarks"] = recrop_landmarks(frame["landmarks"], fraction, stored[0], size)
    return out


def _decode_and_align(image: tf.Tensor, frame: dict, size: int, mask) -> dict:
    """``crop_mode="aligned"``: warp the crop by its landmarks (``data.align``), and ``mask``
    ((raw (H, W, 1) in [0, 255], has_mask), or False) too."""
    landmarks = frame["landmarks"][None]
    out = {"image": align_faces(image[None], landmarks, size)[0]}
    if mask:
        raw, has_mask = mask
        out["mask"] = align_faces(tf.tile(raw[None], [1, 1, 1, 3]), landmarks, size)[0, ..., :1]
        out["mask"] = out["mask"] / 255.0
        out["has_mask"] = has_mask
        out["landmarks"] = align_landmarks(landmarks, size)[0]
    return out


def _augment(crop: dict, label, config: AugmentConfig, seed) -> dict:
    """Run the recipe on a crop (its mask moves with it when it has one)."""
    state = {**crop, "image": crop["image"] * (1.0 / 255.0)}
    if "mask" in crop:
        state["label"] = label
    state = apply_augment(config, state, seed)
    return {**state, "image": state["image"] * 255.0}


def _needs_mask(config: AugmentConfig | None, with_masks: bool) -> bool:
    """Decode and re-crop the SSIM masks: wanted in the batches, or read by the recipe."""
    return with_masks or (config is not None and config.uses_masks())


def _frame_streams(files, training, seed, stats, skip_corrupt, buffer):
    """``label -> _stream`` of single frames (the frame and triplet datasets' element stream)."""
    stream = functools.partial(
        _stream, files, training=training, seed=seed, stats=stats, skip_corrupt=skip_corrupt,
        buffer=buffer, to_elements=lambda d: d.flat_map(reader.track_frames),
    )
    return lambda label: stream(label=label)


def _stream(files, *, label, training, seed, skip_corrupt, stats, to_elements, buffer):
    """Elements of one class (``label`` 0/1) or of all (None); shuffled and endless in training."""
    ds = reader.track_dataset(
        files, shuffle_files=training, seed=seed, skip_corrupt=skip_corrupt, stats=stats
    )
    if label is not None:
        ds = ds.filter(lambda t: tf.equal(t["label"], label))
    ds = to_elements(ds)
    if training:
        ds = ds.shuffle(buffer, seed=seed, reshuffle_each_iteration=True).repeat()
    return ds


def _blend_seed(seed):
    """The self-blend's seed, apart from the augmentation's (derived from the same element)."""
    return tf.random.experimental.stateless_fold_in(seed, 1)


def with_self_blends(reals: tf.data.Dataset) -> tf.data.Dataset:
    """Each element of ``reals`` (a frame or track dict), then the same flagged for a
    self-blended fake (``self_blend`` True, label 1); the reals are flagged False."""

    def pair(element):
        real = {**element, "self_blend": tf.constant(False)}
        fake = {**element, "self_blend": tf.constant(True), "label": tf.ones_like(element["label"])}
        return tf.data.Dataset.from_tensors(real).concatenate(tf.data.Dataset.from_tensors(fake))

    return reals.flat_map(pair)


def _check_fakes(fakes: str, info: dict, what: str) -> None:
    """SBI makes its fakes from the real tracks: there must be some."""
    if fakes == "sbi" and info["real"] == 0:
        raise ValueError(
            f"{what}: fakes='sbi' makes its fakes from real faces, but the shards hold no real "
            "track (label 0). Add shards of real videos."
        )


def _training_stream(stream, training: bool, balance: bool, fakes: str, seed: int):
    """The element stream of a pipeline: (real, self-blend) pairs of the real tracks
    (``fakes="sbi"``), real and fake drawn equally (training with ``balance``), or all."""
    if fakes == "sbi":
        return with_self_blends(stream(0))
    if training and balance:
        return bal.balanced(stream(0), stream(1), seed)
    return stream(None)


def _mapped(ds, prepare, base, skip_errors: bool = False):
    """Enumerate (for per-element seeds) and prepare in parallel, in a deterministic order.

    ``skip_errors`` drops (and logs) elements whose crop or mask does not decode."""
    ds = ds.enumerate().map(
        lambda i, x: prepare(x, tf.random.experimental.stateless_fold_in(base, i)),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    return ds.ignore_errors(log_warning=True) if skip_errors else ds


def _setup(data, *, batch_size, training, balance, input_context, min_frames, what,
           fakes="shards"):
    if fakes not in FAKES:
        raise ValueError(f"{what} {data}: fakes must be 'shards' or 'sbi'; got {fakes!r}.")
    files = reader.shard_files(reader.list_shards(data), input_context)
    info = bal.preflight(
        files, training=training or fakes == "sbi", balance=balance and fakes != "sbi",
        min_frames=min_frames, what=f"{what} {data}",
    )
    _check_fakes(fakes, info, f"{what} {data}")
    if info["short"]:
        log.warning(
            "WARNING %s: %d track(s) shorter than %d frames are left out of the clips.",
            what, info["short"], min_frames,
        )
    return files, info, _replica_batch(batch_size, input_context)


def _finished_image(image: tf.Tensor, preset, normalised: bool) -> tf.Tensor:
    """[0, 255] float32 -> the preset's normalised float32, or uint8 (``normalised=False``:
    the training step augments and normalises it on the accelerator)."""
    if normalised:
        return normalise(image, preset)
    return tf.cast(tf.clip_by_value(tf.round(image), 0.0, 255.0), tf.uint8)


def _frame_preparer(preset, config, training, with_masks, with_ids, normalised=True):
    """The per-frame map: decode, re-crop, augment, normalise -> dict of one example."""
    need_mask = _needs_mask(config, with_masks)

    def prepare(frame, seed):
        label = _check_label(frame["label"], frame["shard"]) if training else frame["label"]
        crop = _decode_and_crop(frame, preset, need_mask, _blend_seed(seed))
        if config is not None:
            crop = _augment(crop, label, config, seed)
        out = {
            "images": _finished_image(crop["image"], preset, normalised),
            "labels": tf.cast(label, tf.float32)[None],
        }
        if with_masks:
            out["masks"] = crop["mask"]
        if with_ids:
            out.update({k: frame[k] for k in _ID_KEYS})
        return out

    return prepare


def frame_dataset(
    data: reader.DataSource,
    preset,
    *,
    batch_size: int,
    training: bool,
    seed: int = 0,
    augment: None | bool | str | AugmentConfig = None,
    balance: bool = True,
    input_context: tf.distribute.InputContext | None = None,
    with_masks: bool = False,
    with_ids: bool = False,
    skip_corrupt: bool = False,
    stats: reader.ReadStats | None = None,
    shuffle_memory: int = bal.DEFAULT_SHUFFLE_MEMORY,
    fakes: str = "shards",
    normalised: bool = True,
) -> tf.data.Dataset:
    """Batches of single frames for frame models (see the module docstring for the layout).

    Args:
        data: folder of shards, a shard, a glob, or a list of those.
        preset: the model's ``Preset`` (input size, margin, mean/std), or its name.
        batch_size: global batch size (split per replica by ``input_context``).
        training: shuffle, balance, augment, repeat and drop the last partial batch.
        seed: seed of file order, shuffling, sampling and augmentation.
        augment: None/False, True (the preset family's recipe), "b4", "b7" or a config.
        balance: draw real and fake frames with equal probability (training only).
        input_context: from ``tf.distribute``; files are sharded by it.
        with_masks, with_ids: add SSIM masks / identifiers (see the module docstring).
        skip_corrupt, stats: see ``tfrecords_tools.reader``; also drops (and logs) frames
            whose JPEG/PNG does not decode (those are not counted in ``stats``).
        shuffle_memory: bytes the shuffle buffer(s) may hold (``balance`` module docstring).
        fakes: ``shards`` (the shards' own fakes) or ``sbi`` (real tracks only, each frame
            followed by its self-blended fake; ``balance`` is then by construction).
        normalised: False gives uint8 images, un-normalised (pass ``augment=None``): the
            training step augments them on the accelerator (``DataConfig.augment_on``).
    """
    from tfdeepfake.models import get_preset

    preset = get_preset(preset)
    if preset.sequence:
        raise ValueError(
            f"Model {preset.name!r} takes clips of {preset.frames} frames: use "
            "clip_dataset, not frame_dataset."
        )
    files, info, per_replica = _setup(
        data,
        batch_size=batch_size,
        training=training,
        balance=balance,
        input_context=input_context,
        min_frames=1,
        what="frame_dataset",
        fakes=fakes,
    )
    config = resolve_augment(augment, preset) if training else None
    budget = shuffle_memory // (2 if training and balance and fakes != "sbi" else 1)
    buffer = bal.shuffle_buffer_size(info["bytes_per_frame"], budget)
    prepare = _frame_preparer(preset, config, training, with_masks, with_ids, normalised)
    base = _base_seed(seed, input_context)

    frames = _frame_streams(files, training, seed, stats, skip_corrupt, buffer)
    ds = _training_stream(frames, training, balance, fakes, seed)
    ds = _mapped(ds, prepare, base, skip_corrupt)
    return _finish(ds, per_replica, training, with_ids, with_masks)


def _finish(ds, per_replica, training, as_dict, with_masks):
    ds = ds.batch(per_replica, drop_remainder=training)
    if not as_dict:
        keys = ("images", "labels", "masks") if with_masks else ("images", "labels")
        ds = ds.map(lambda b: tuple(b[k] for k in keys))
    return ds.prefetch(tf.data.AUTOTUNE)


def clip_indices(
    n: tf.Tensor, clip_len: int, stride: int, contiguous: bool, seed, random_start: bool
) -> tf.Tensor:
    """Frame positions of one clip in a track of ``n`` frames.

    Contiguous: ``start + stride * [0..T)``, ``start`` uniform over the valid starts when
    ``random_start`` (training) else 0 (the first frames, as the ResNeXt-LSTM reference).
    Not contiguous: ``T`` positions spread evenly over the whole track. Positions past the
    end of a short track repeat its last frame.
    """
    n = tf.cast(n, tf.int32)
    if not contiguous:
        return tf.cast(tf.round(tf.linspace(0.0, tf.cast(n - 1, tf.float32), clip_len)), tf.int32)
    span = (clip_len - 1) * stride + 1
    start = tf.constant(0, tf.int32)
    if random_start:
        start = tf.random.stateless_uniform([], seed, 0, n - span + 1, dtype=tf.int32)
    return tf.minimum(start + stride * tf.range(clip_len), n - 1)


def clip_dataset(
    data: reader.DataSource,
    preset,
    *,
    batch_size: int,
    training: bool,
    clip_len: int | None = None,
    stride: int = 1,
    contiguous: bool = True,
    seed: int = 0,
    augment: None | bool | str | AugmentConfig = None,
    balance: bool = True,
    input_context: tf.distribute.InputContext | None = None,
    with_masks: bool = False,
    with_ids: bool = False,
    skip_corrupt: bool = False,
    stats: reader.ReadStats | None = None,
    shuffle_memory: int = bal.DEFAULT_SHUFFLE_MEMORY,
    fakes: str = "shards",
    normalised: bool = True,
) -> tf.data.Dataset:
    """Batches of clips ``(B, T, S, S, 3)`` for sequence models, one clip per track per pass.

    ``clip_len`` defaults to ``preset.frames``; see ``clip_indices`` for ``stride`` and
    ``contiguous``. In training, tracks too short for a clip are left out (with a warning
    naming how many; an error when all are); in evaluation every track gives a clip, a short
    one padded by repeating its last frame, so no video goes unscored. A clip's frames share
    one augmentation draw. Other arguments as ``frame_dataset``; ``with_masks`` is refused
    (sequence models have no attention output).
    """
    from tfdeepfake.models import get_preset

    preset = get_preset(preset)
    if with_masks:
        raise ValueError(
            "clip_dataset yields no SSIM masks: sequence models have no attention "
            "output; set the mask loss weight to 0."
        )
    clip_len = preset.frames if clip_len is None else int(clip_len)
    if clip_len <= 0 or stride <= 0:
        raise ValueError(f"clip_len and stride must be positive, got {clip_len}, {stride}.")
    need = ((clip_len - 1) * stride + 1 if contiguous else clip_len) if training else 1
    files, info, per_replica = _setup(
        data,
        batch_size=batch_size,
        training=training,
        balance=balance,
        input_context=input_context,
        min_frames=need,
        what="clip_dataset",
        fakes=fakes,
    )
    config = resolve_augment(augment, preset) if training else None
    budget = shuffle_memory // (2 if training and balance and fakes != "sbi" else 1)
    buffer = bal.shuffle_buffer_size(info["bytes_per_frame"] * max(need, 1), budget)
    enough = lambda d: d.filter(lambda t: tf.shape(t["image"])[0] >= need)  # noqa: E731
    base = _base_seed(seed, input_context)
    size = preset.input_size

    def prepare(track, element_seed):
        label = _check_label(track["label"], track["shard"]) if training else track["label"]
        pick = clip_indices(
            tf.shape(track["image"])[0], clip_len, stride, contiguous, element_seed, training
        )

        def one_frame(i):
            frame = {
                "image": track["image"][i],
                "mask": track["mask"][i],
                "landmarks": track["landmarks"][i],
                "crop_margin": track["crop_margin"],
            }
            if "self_blend" in track:  # one blend draw for the clip, as one augmentation draw
                frame["self_blend"] = track["self_blend"]
            need_mask = _needs_mask(config, False)
            crop = _decode_and_crop(frame, preset, need_mask, _blend_seed(element_seed))
            if config is not None:
                crop = _augment(crop, label, config, element_seed)  # same draw for the clip
            return _finished_image(crop["image"], preset, normalised)

        spec = tf.TensorSpec((size, size, 3), tf.float32 if normalised else tf.uint8)
        clips = tf.map_fn(one_frame, pick, fn_output_signature=spec)
        out = {"images": clips, "labels": tf.cast(label, tf.float32)[None]}
        if with_ids:
            out.update({k: track[k] for k in _ID_KEYS if k != "frame_index"})
            out["frame_index"] = tf.gather(track["frame_index"], pick)
        return out

    def tracks(label):
        return _stream(
            files,
            label=label,
            training=training,
            seed=seed,
            stats=stats,
            skip_corrupt=skip_corrupt,
            buffer=buffer,
            to_elements=enough,
        )

    ds = _training_stream(tracks, training, balance, fakes, seed)
    ds = _mapped(ds, prepare, base, skip_corrupt)
    return _finish(ds, per_replica, training, with_ids, False)


def triplet_dataset(
    data: reader.DataSource,
    preset,
    *,
    triplets_per_batch: int = 12,
    batch_size: int | None = None,
    training: bool = True,
    seed: int = 0,
    augment: None | bool | str | AugmentConfig = None,
    input_context: tf.distribute.InputContext | None = None,
    skip_corrupt: bool = False,
    stats: reader.ReadStats | None = None,
    shuffle_memory: int = bal.DEFAULT_SHUFFLE_MEMORY,
) -> tf.data.Dataset:
    """Triplet batches for AutoAttB4ST's Siamese training (layout in the module docstring).

    ``batch_size`` (images, global), when given, overrides ``triplets_per_batch`` and must be
    a multiple of 3, as must the per-replica batch. Triplets are always drawn from both
    classes (balanced by construction); no masks or ids. Repeats forever.
    """
    images = batch_size if batch_size is not None else 3 * triplets_per_batch
    per_replica = _replica_batch(images, input_context)
    if images % 3 or per_replica % 3:
        raise ValueError(
            f"Triplet batches need a multiple of 3 images per replica; got "
            f"{images} global, {per_replica} per replica."
        )
    files, info, _ = _setup(
        data,
        batch_size=images,
        training=True,
        balance=True,
        input_context=input_context,
        min_frames=1,
        what="triplet_dataset",
    )
    config = resolve_augment(augment, preset) if training else None
    buffer = bal.shuffle_buffer_size(info["bytes_per_frame"], shuffle_memory // 2)
    prepare = _frame_preparer(preset, config, True, False, False)
    base = _base_seed(seed, input_context)

    frames = _frame_streams(files, True, seed, stats, skip_corrupt, buffer)
    # Index 0 = real, 1 = fake: (fake, fake, real), (real, real, fake), repeated.
    pattern = tf.data.Dataset.from_tensor_slices(tf.constant(TRIPLET_PATTERN, tf.int64))
    ds = tf.data.Dataset.choose_from_datasets([frames(0), frames(1)], pattern.repeat())
    pairs = _mapped(ds, prepare, base).map(lambda x: (x["images"], x["labels"]))
    return pairs.batch(per_replica, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
