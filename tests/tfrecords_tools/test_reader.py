"""Reader: round trip, per-frame view, file sharding, corrupt records named or skipped."""

import shutil

import numpy as np
import pytest
import tensorflow as tf

from tfrecords_tools import reader
from tfrecords_tools.schema import decode_track


def _corrupt_copy(shard_dir, tmp_path, record, where):
    """Copy the first shard and damage record ``record``: its data CRC or its tail."""
    src = sorted(shard_dir.glob("*.tfrecord"))[0]
    dst = tmp_path / "bad" / src.name
    dst.parent.mkdir()
    data = bytearray(src.read_bytes())
    offset, length = reader.scan_shard(src)[record]
    if where == "crc":
        data[offset + 12 + length // 2] ^= 0xFF
    else:
        data = data[: offset + 12 + length // 2]
    dst.write_bytes(bytes(data))
    return dst, offset


def test_list_shards_errors_name_the_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="has no"):
        reader.list_shards(tmp_path)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        reader.list_shards(tmp_path / "nowhere")


def test_round_trip_equals_what_was_written(shard_dir, tracks):
    got = {}
    for t in reader.track_dataset(shard_dir):
        serial = t.pop("shard"), t.pop("record_index")
        assert serial[0].numpy().decode().endswith(".tfrecord")
        got[t["video_id"].numpy().decode()] = t
    assert sorted(got) == [t.video_id for t in tracks]
    for want in tracks:
        t = got[want.video_id]
        crops = np.stack([tf.io.decode_jpeg(b).numpy() for b in t["image"]])
        # JPEG is lossy: the crops equal the written crops after one JPEG round trip.
        expected = np.stack(
            [tf.io.decode_jpeg(tf.io.encode_jpeg(c, quality=95)).numpy() for c in want.crops]
        )
        np.testing.assert_array_equal(crops, expected)
        np.testing.assert_array_equal(t["frame_index"], want.frame_index)
        np.testing.assert_allclose(t["landmarks"], want.landmarks)
        assert int(t["label"]) == want.label and t["split"].numpy().decode() == want.split
    # Masks are PNG: lossless.
    back = decode_track(
        next(
            iter(tf.data.TFRecordDataset(sorted(str(p) for p in shard_dir.glob("*.tfrecord"))[-1]))
        ).numpy()
    )
    want = next(t for t in tracks if t.video_id == back.video_id)
    np.testing.assert_array_equal(back.masks, want.masks)


def test_frame_dataset_one_element_per_frame(shard_dir, tracks):
    frames = list(reader.frame_dataset(shard_dir))
    assert len(frames) == sum(len(t.crops) for t in tracks)
    f = frames[0]
    assert f["image"].shape == (32, 32, 3) and f["image"].dtype == tf.uint8
    assert f["mask"].shape == (32, 32, 1)
    masked = [int(f["label"]) for f in frames if int(tf.reduce_max(f["mask"])) > 0]
    assert masked and set(masked) == {1}


def test_input_context_shards_files(shard_dir):
    ids = []
    for i in range(2):
        ctx = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=i)
        ids.append(
            {t["video_id"].numpy() for t in reader.track_dataset(shard_dir, input_context=ctx)}
        )
    assert ids[0] and ids[1] and not ids[0] & ids[1] and len(ids[0] | ids[1]) == 6
    ctx = tf.distribute.InputContext(num_input_pipelines=3, input_pipeline_id=0)
    with pytest.raises(ValueError, match="input pipelines"):
        reader.track_dataset(shard_dir, input_context=ctx)


def test_bad_crc_names_file_and_record_or_is_skipped_and_counted(shard_dir, tmp_path, capfd):
    bad, offset = _corrupt_copy(shard_dir, tmp_path, record=1, where="crc")
    n = len(reader.scan_shard(bad))
    with pytest.raises(tf.errors.InvalidArgumentError) as err:
        list(reader.track_dataset(bad.parent))
    assert bad.name in str(err.value) and f"record 1 (byte offset {offset})" in str(err.value)
    stats = reader.ReadStats()
    got = list(reader.track_dataset(bad.parent, skip_corrupt=True, stats=stats))
    assert len(got) == 1 and stats.skipped == n - 1
    assert f'WARNING skipping: "Corrupt TFRecord \\"{bad}' in capfd.readouterr().err


def test_bad_protobuf_is_named_and_skipped(shard_dir, tmp_path):
    out = tmp_path / "mixed"
    out.mkdir()
    src = sorted(shard_dir.glob("*.tfrecord"))[0]
    records = [r.numpy() for r in tf.data.TFRecordDataset(str(src))]
    with tf.io.TFRecordWriter(str(out / "x.tfrecord")) as w:
        w.write(records[0])
        w.write(b"not a sequence example")
        w.write(records[1])
    named = r"x.tfrecord.*1 record.s. unreadable from record 1 "
    with pytest.raises(tf.errors.InvalidArgumentError, match=named):
        list(reader.track_dataset(out))
    stats = reader.ReadStats()
    assert len(list(reader.track_dataset(out, skip_corrupt=True, stats=stats))) == 2
    assert stats.skipped == 1


def test_truncated_shard_fails_before_reading(shard_dir, tmp_path):
    bad, offset = _corrupt_copy(shard_dir, tmp_path, record=2, where="truncate")
    shutil.copy(sorted(shard_dir.glob("*.tfrecord"))[1], bad.parent)
    with pytest.raises(reader.CorruptShardError, match=f"record 2 \\(byte offset {offset}\\)"):
        reader.track_dataset(bad.parent)
    stats = reader.ReadStats()
    got = list(reader.track_dataset(bad.parent, skip_corrupt=True, stats=stats))
    assert len(got) == 2 + 3 and stats.skipped == 1
