"""`tfrecords-tools inspect|stats|validate|sample` on synthetic shards, good and damaged."""

import json

import tensorflow as tf

from tfrecords_tools import reader
from tfrecords_tools.cli import main
from tfrecords_tools.schema import LABEL_REAL, encode_track
from tfrecords_tools.synthetic import synthetic_track
from tfrecords_tools.validate import validate_shards


def test_inspect_and_stats_count_by_label_dataset_split(shard_dir, capsys):
    assert main(["inspect", str(shard_dir)]) == 0
    out = capsys.readouterr().out
    assert "tracks-00000.tfrecord" in out and "manifest: 2 completed shard(s), 6 video(s)" in out
    assert main(["stats", "--json", str(shard_dir)]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["tracks"] == 6 and stats["frames"] == 24 and stats["with_masks"] == 3
    assert stats["by_label"]["real"]["videos"] == 3 and stats["by_label"]["fake"]["tracks"] == 3
    assert stats["by_split"] == {
        "train": {"tracks": 3, "frames": 12, "videos": 3},
        "val": {"tracks": 3, "frames": 12, "videos": 3},
    }
    assert stats["by_dataset"]["synthetic"]["frames"] == 24


def test_validate_ok_then_finds_crc_schema_and_manifest_problems(shard_dir, capsys):
    assert main(["validate", str(shard_dir)]) == 0
    assert "OK: 2 shard(s), 6 readable track(s), 24 frame(s)" in capsys.readouterr().out

    first = sorted(shard_dir.glob("*.tfrecord"))[0]
    data = bytearray(first.read_bytes())
    offset, length = reader.scan_shard(first)[1]
    data[offset + 12 + length // 2] ^= 0xFF
    first.write_bytes(bytes(data))
    track = synthetic_track("odd", LABEL_REAL)
    raw = tf.train.SequenceExample.FromString(encode_track(track))
    del raw.feature_lists.feature_list["box"].feature[-1]  # lengths disagree
    raw.feature_lists.feature_list["image"].feature[0].bytes_list.value[0] = b"no jpeg"
    with tf.io.TFRecordWriter(str(shard_dir / "extra.tfrecord")) as w:
        w.write(raw.SerializeToString())
    assert main(["validate", str(shard_dir)]) == 1
    out = capsys.readouterr().out
    assert f"{first}: record 1 (byte offset {offset}): [crc]" in out
    assert "extra.tfrecord: record 0 (byte offset 0): [schema] feature list 'box' has 3" in out
    assert "[image] frame 0: crop is not a decodable JPEG" in out
    assert "extra.tfrecord: [manifest] shard is not in the manifest" in out
    assert "tracks-00000.tfrecord: [manifest] manifest lists 3 track(s)" in out


def test_truncated_shard_and_duplicates_are_reported(shard_dir, tmp_path):
    second = sorted(shard_dir.glob("*.tfrecord"))[1]
    copy = shard_dir / "copy.tfrecord"
    copy.write_bytes(second.read_bytes()[:-50])
    report = validate_shards(shard_dir, check_images=False)
    kinds = {(p.path.rsplit("/", 1)[-1], p.kind) for p in report.problems}
    assert ("copy.tfrecord", "truncated") in kinds
    assert ("tracks-00001.tfrecord", "duplicate") in kinds  # copy.tfrecord is read first
    assert not report.ok


def test_sample_dumps_pngs_with_masks(shard_dir, tmp_path, capsys):
    out = tmp_path / "png"
    assert main(["sample", str(shard_dir), "--out", str(out), "-n", "8"]) == 0
    crops = [p for p in out.glob("*.png") if not p.name.endswith("_mask.png")]
    assert len(crops) == 8
    for mask in out.glob("*_mask.png"):
        assert "_fake" in mask.name
        assert tf.io.decode_png(mask.read_bytes()).shape == (32, 32, 1)
    assert tf.io.decode_png(crops[0].read_bytes()).shape == (32, 32, 3)


def test_missing_folder_exits_2_with_message(tmp_path, capsys):
    assert main(["stats", str(tmp_path / "none")]) == 2
    assert "No TFRecord shards" in capsys.readouterr().err


def test_damaged_shards_are_counted_around_named_and_exit_1(shard_dir, tmp_path, capsys):
    first, second = sorted(shard_dir.glob("*.tfrecord"))
    offset, length = reader.scan_shard(second)[1]
    data = bytearray(second.read_bytes())
    data[offset + 12 + length // 2] ^= 0xFF  # bad CRC in record 1 of 3: records 1-2 lost
    second.write_bytes(bytes(data))
    with tf.io.TFRecordWriter(str(shard_dir / "odd.tfrecord")) as w:
        w.write(b"not a protobuf")  # good CRC, not a track: passed over alone
        w.write(encode_track(synthetic_track("after", LABEL_REAL)))

    assert main(["stats", "--json", str(shard_dir)]) == 1
    captured = capsys.readouterr()
    stats = json.loads(captured.out)
    assert stats["tracks"] == 3 + 1 + 1  # first shard, record 0 of the second, "after"
    assert [(d["path"].rsplit("/", 1)[-1], d["record"], d["lost"]) for d in stats["damaged"]] == [
        ("odd.tfrecord", 0, 1),
        ("tracks-00001.tfrecord", 1, 2),
    ]
    assert f"tracks-00001.tfrecord: record 1 (byte offset {offset}): bad checksum" in captured.err
    assert "3 damaged record(s)" in captured.err and "tfrecords-tools validate" in captured.err

    assert main(["inspect", str(shard_dir)]) == 1
    captured = capsys.readouterr()
    assert "tracks-00000.tfrecord" in captured.out and "odd.tfrecord" in captured.out
    assert "not a track SequenceExample" in captured.err

    out = tmp_path / "png"
    assert main(["sample", str(shard_dir), "--out", str(out), "-n", "4"]) == 1
    captured = capsys.readouterr()
    assert "wrote 4 crop(s)" in captured.out and "damaged record(s) passed over" in captured.err
    assert "Traceback" not in captured.err
