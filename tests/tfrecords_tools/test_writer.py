"""ShardedWriter: size-bounded shards, atomic completion, manifest, resume after a crash."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from tfrecords_tools.reader import scan_shard
from tfrecords_tools.schema import LABEL_FAKE, LABEL_REAL
from tfrecords_tools.synthetic import synthetic_track
from tfrecords_tools.writer import ShardedWriter, read_manifest


def test_shards_are_size_bounded_and_listed_in_manifest(tmp_path):
    tracks = [synthetic_track(f"v{i}", i % 2, seed=i) for i in range(6)]
    with ShardedWriter(tmp_path, max_shard_bytes=15_000) as writer:
        for track in tracks:
            writer.write(track)
    shards = sorted(tmp_path.glob("*.tfrecord"))
    assert len(shards) >= 2
    assert all(p.stat().st_size <= 15_000 for p in shards)
    entries = read_manifest(tmp_path)
    assert [e["shard"] for e in entries] == [p.name for p in shards]
    assert sum(e["records"] for e in entries) == 6
    assert [v for e in entries for v in e["videos"]] == [f"v{i}" for i in range(6)]
    assert writer.done_ids == {f"v{i}" for i in range(6)}
    assert not list(tmp_path.glob(".*.tmp"))


def test_tracks_of_one_video_stay_in_one_shard(tmp_path):
    with ShardedWriter(tmp_path, max_shard_bytes=1) as writer:
        for t in range(3):
            writer.write(synthetic_track("a", LABEL_REAL, track_id=t, seed=t))
        writer.write(synthetic_track("b", LABEL_FAKE))
    entries = read_manifest(tmp_path)
    assert [e["videos"] for e in entries] == [["a"], ["b"]]
    assert [t["track_id"] for t in entries[0]["tracks"]] == [0, 1, 2]


def test_video_without_tracks_is_recorded_and_wrong_video_rejected(tmp_path):
    with ShardedWriter(tmp_path) as writer:
        assert writer.write_video("noface", []) == 0
        with pytest.raises(ValueError, match="write_video"):
            writer.write_video("x", [synthetic_track("y", LABEL_REAL)])
    assert ShardedWriter(tmp_path).has("noface")


_CRASH_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    from tfrecords_tools.synthetic import synthetic_track
    from tfrecords_tools.writer import ShardedWriter
    writer = ShardedWriter(sys.argv[1], max_shard_bytes=15_000)
    for i in range(5):
        writer.write(synthetic_track(f"v{i}", i % 2, seed=i))
    writer._writer.flush()
    os.kill(os.getpid(), signal.SIGKILL)
""")


def test_killed_run_leaves_only_whole_shards_and_resume_rewrites_the_open_one(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", _CRASH_SCRIPT, str(tmp_path)], capture_output=True, timeout=120
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    shards = sorted(tmp_path.glob("*.tfrecord"))
    leftovers = list(tmp_path.glob(".*.tfrecord.tmp"))
    assert shards and leftovers  # some shards completed, one was open when killed
    entries = read_manifest(tmp_path)
    assert [e["shard"] for e in entries] == [p.name for p in shards]
    for entry, path in zip(entries, shards):
        assert len(scan_shard(path)) == entry["records"]  # whole, no partial record
    done = {v for e in entries for v in e["videos"]}
    assert done and done != {f"v{i}" for i in range(5)}

    with ShardedWriter(tmp_path, max_shard_bytes=15_000) as writer:
        assert not list(tmp_path.glob(".*.tfrecord.tmp"))  # the dead run's temporary is gone
        skipped = [f"v{i}" for i in range(5) if writer.has(f"v{i}")]
        assert set(skipped) == done
        for i in range(5):
            if not writer.has(f"v{i}"):
                writer.write(synthetic_track(f"v{i}", i % 2, seed=i))
    videos = [v for e in read_manifest(tmp_path) for v in e["videos"]]
    assert sorted(videos) == [f"v{i}" for i in range(5)]  # each video exactly once


def test_orphan_shard_and_torn_manifest_line_are_recovered(tmp_path):
    with ShardedWriter(tmp_path, max_shard_bytes=1) as writer:
        writer.write(synthetic_track("a", LABEL_REAL))
        writer.write(synthetic_track("b", LABEL_FAKE))
    manifest = tmp_path / "manifest.jsonl"
    lines = manifest.read_text().splitlines()
    manifest.write_text(lines[0] + "\n" + lines[1][:30])  # killed while appending line 2
    writer = ShardedWriter(tmp_path)
    assert writer.done_ids == {"a", "b"}
    entries = read_manifest(tmp_path)
    assert entries[1]["adopted"] and entries[1]["videos"] == ["b"]
    assert all(json.loads(line) for line in manifest.read_text().splitlines())


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match="prefix"):
        ShardedWriter(tmp_path, prefix="a/b")
    with pytest.raises(ValueError, match="max_shard_bytes"):
        ShardedWriter(tmp_path, max_shard_bytes=0)
    writer = ShardedWriter(tmp_path)
    writer.close()
    with pytest.raises(RuntimeError, match="closed"):
        writer.write(synthetic_track("a", LABEL_REAL))
    assert os.listdir(tmp_path)  # lock file only; no empty shard was written
    assert not list(tmp_path.glob("*.tfrecord"))
