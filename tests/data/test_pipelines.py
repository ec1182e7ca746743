"""Input pipelines: layout, crop/normalisation parity with inference, ids, balance, seeded
determinism, per-replica batching and sharding, clips, triplets, and clear errors."""

import numpy as np
import pytest
import tensorflow as tf

from tfdeepfake.data import (
    AugmentConfig,
    Step,
    clip_dataset,
    clip_indices,
    frame_dataset,
    preset_images,
    shuffle_buffer_size,
    triplet_dataset,
)
from tfdeepfake.models import get_preset
from tfdeepfake.models.preprocessing import FacePreprocessor
from tfrecords_tools.schema import LABEL_UNKNOWN, decode_track, encode_track
from tfrecords_tools.synthetic import synthetic_track
from tfrecords_tools.writer import ShardedWriter

B4 = get_preset("autoatt_b4_tiny")  # 32 px, margin 0.2
LSTM = get_preset("resnet_lstm_tiny")  # 32 px, 8 frames
LIGHT = AugmentConfig("light", (Step("flip", 0.5), Step("gaussian_noise", 0.5), Step("jpeg", 0.5)))


def _tracks(folder):
    out = {}
    for path in sorted(folder.glob("*.tfrecord")):
        for raw in tf.data.TFRecordDataset(str(path)):
            t = decode_track(raw.numpy())
            out[t.video_id] = t
    return out


def test_preset_images_normalises_like_the_model_preprocessor():
    crops = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    got = preset_images(crops, B4.face_margin, B4).numpy()  # same margin and size: no re-cut
    want = FacePreprocessor(B4.mean, B4.std)(crops).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)
    wide = preset_images(np.pad(crops, ((0, 0), (16, 16), (16, 16), (0, 0))), 0.9, B4).numpy()
    # (1 + 0.4) / (1 + 1.8) = 1/2: exactly the centre 32 of the 64 px crops.
    np.testing.assert_allclose(wide, want, atol=1e-4)
    with pytest.raises(ValueError, match="re-extract"):
        preset_images(crops, 0.1, B4)


def test_eval_frames_once_each_with_ids_and_inference_crop(shards):
    tracks = _tracks(shards)
    seen = []
    for batch in frame_dataset(shards, B4, batch_size=16, training=False, with_ids=True):
        assert batch["images"].shape[1:] == (32, 32, 3) and batch["labels"].shape[1:] == (1,)
        for i in range(batch["images"].shape[0]):
            vid = batch["video_id"][i].numpy().decode()
            t = tracks[vid]
            k = list(t.frame_index).index(int(batch["frame_index"][i]))
            assert float(batch["labels"][i, 0]) == t.label
            seen.append((vid, k))
            if k == 0:  # the training crop equals the inference crop of the same frame
                decoded = t.crops[:1]  # decode_track returns the decoded JPEG crops
                np.testing.assert_allclose(
                    batch["images"][i].numpy(),
                    preset_images(decoded, 0.5, B4).numpy()[0],
                    atol=1e-4,
                )
    assert sorted(seen) == sorted((v, k) for v in tracks for k in range(10))


def test_training_is_balanced_masked_and_seeded(shards):
    def first(seed, n=8):
        ds = frame_dataset(
            shards, B4, batch_size=16, training=True, seed=seed, augment=LIGHT, with_masks=True
        )
        return [tuple(t.numpy() for t in b) for b in ds.take(n)]

    a, b = first(1), first(1)
    for batch_a, batch_b in zip(a, b):  # same seed: same order, same augmentation
        for xa, xb in zip(batch_a, batch_b):
            np.testing.assert_array_equal(xa, xb)
    labels = np.concatenate([y for _, y, _ in a]).ravel()
    assert 0.35 < labels.mean() < 0.65  # the data is 2 real : 6 fake
    masks = np.concatenate([m for *_, m in a])
    assert masks.shape[1:] == (32, 32, 1)
    has = masks.reshape(len(masks), -1).max(1) > 0
    assert has[labels == 1].all() and not has[labels == 0].any()
    images = np.concatenate([x for x, *_ in a])
    assert len({im.tobytes() for im in images}) > 80  # more distinct than the 80 stored frames


def test_per_replica_batch_and_file_sharding(shards):
    ids = []
    for worker in range(2):
        ctx = tf.distribute.InputContext(
            num_input_pipelines=2, input_pipeline_id=worker, num_replicas_in_sync=4
        )
        batches = list(
            frame_dataset(
                shards, B4, batch_size=8, training=False, input_context=ctx, with_ids=True
            )
        )
        assert {b["images"].shape[0] for b in batches} == {2}  # 8 global / 4 replicas
        ids.append({v.decode() for b in batches for v in b["video_id"].numpy()})
    assert ids[0] and ids[1] and not ids[0] & ids[1] and len(ids[0] | ids[1]) == 8


def test_clip_indices():
    seed = tf.constant([0, 1], tf.int64)
    np.testing.assert_array_equal(clip_indices(10, 4, 3, True, seed, False), [0, 3, 6, 9])
    np.testing.assert_array_equal(clip_indices(10, 4, 1, False, seed, False), [0, 3, 6, 9])
    np.testing.assert_array_equal(clip_indices(3, 5, 1, True, seed, False), [0, 1, 2, 2, 2])
    starts = {
        int(clip_indices(10, 4, 2, True, tf.constant([0, i], tf.int64), True)[0]) for i in range(30)
    }
    assert starts == {0, 1, 2, 3}  # random start over every valid position


def test_clip_dataset(shards):
    batch = next(
        iter(
            clip_dataset(
                shards, LSTM, batch_size=2, training=False, clip_len=4, stride=4, with_ids=True
            )
        )
    )
    assert batch["images"].shape == (2, 4, 32, 32, 3)
    # Stored frames are every 3rd video frame; positions 0, 4, 8 and 12 -> 9 (padded).
    np.testing.assert_array_equal(batch["frame_index"][0], [0, 12, 24, 27])
    clips, labels = next(
        iter(clip_dataset(shards, LSTM, batch_size=4, training=True, augment=LIGHT, seed=3))
    )
    assert clips.shape == (4, 8, 32, 32, 3) and labels.shape == (4, 1)
    with pytest.raises(ValueError, match="shorter than the 20 frames"):
        clip_dataset(shards, LSTM, batch_size=2, training=True, clip_len=20)
    with pytest.raises(ValueError, match="clip_len and stride must be positive, got 0"):
        clip_dataset(shards, LSTM, batch_size=2, training=True, clip_len=0)
    with pytest.raises(ValueError, match="use clip_dataset"):
        frame_dataset(shards, LSTM, batch_size=2, training=True)


def test_triplet_layout(shards):
    images, labels = next(iter(triplet_dataset(shards, B4, triplets_per_batch=4, seed=0)))
    assert images.shape == (12, 32, 32, 3)
    np.testing.assert_array_equal(labels.numpy().ravel(), [1, 1, 0, 0, 0, 1] * 2)
    ctx = tf.distribute.InputContext(num_replicas_in_sync=3)
    with pytest.raises(ValueError, match="multiple of 3"):
        triplet_dataset(shards, B4, batch_size=6, input_context=ctx)


def test_errors_before_training(tmp_path, shards):
    with pytest.raises(FileNotFoundError, match="No TFRecord shards"):
        frame_dataset(tmp_path, B4, batch_size=2, training=True)
    unlabelled = tmp_path / "unlabelled"
    with ShardedWriter(unlabelled) as w:
        w.write(synthetic_track("u", LABEL_UNKNOWN))
    with pytest.raises(ValueError, match="without a label"):
        frame_dataset(unlabelled, B4, batch_size=2, training=True)
    real_only = tmp_path / "real"
    with ShardedWriter(real_only) as w:
        w.write(synthetic_track("r", 0))
    with pytest.raises(ValueError, match="found 1 real and 0 fake"):
        frame_dataset(real_only, B4, batch_size=2, training=True)
    (real_only / "manifest.jsonl").unlink()  # shards made elsewhere: the shards are scanned
    with pytest.raises(ValueError, match="found 1 real and 0 fake"):
        frame_dataset(real_only, B4, batch_size=2, training=True)


def test_undecodable_crop_raises_or_is_skipped(tmp_path):
    track = synthetic_track("j", 1, frames=3, size=32)
    raw = tf.train.SequenceExample.FromString(encode_track(track))
    raw.feature_lists.feature_list["image"].feature[1].bytes_list.value[0] = b"not a jpeg"
    (tmp_path / "s").mkdir()
    with tf.io.TFRecordWriter(str(tmp_path / "s" / "x.tfrecord")) as w:
        w.write(raw.SerializeToString())
    with pytest.raises(tf.errors.InvalidArgumentError):
        list(frame_dataset(tmp_path / "s", B4, batch_size=1, training=False))
    kept = list(frame_dataset(tmp_path / "s", B4, batch_size=1, training=False, skip_corrupt=True))
    assert len(kept) == 2


def test_shuffle_buffer_follows_memory_budget():
    assert shuffle_buffer_size(10_000, 100 * 10_000) == 100
    assert shuffle_buffer_size(10**9, 10**6) == 16
    with pytest.raises(ValueError):
        shuffle_buffer_size(0)
