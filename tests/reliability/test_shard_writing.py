"""Shards: a video is written whole or not at all; data is fsynced before its manifest line;
temporaries of live writers on other hosts are left alone."""

import os
import socket

import pytest

import tfrecords_tools.writer as writer_module
from tfrecords_tools.schema import LABEL_REAL
from tfrecords_tools.synthetic import synthetic_track
from tfrecords_tools.writer import ShardedWriter, read_manifest


def _videos(folder):
    return [v for e in read_manifest(folder) for v in e["videos"]]


def test_a_video_whose_second_track_fails_is_not_recorded(tmp_path, monkeypatch):
    good = [synthetic_track("a", LABEL_REAL)]
    two = [synthetic_track("b", LABEL_REAL, track_id=t, seed=t) for t in range(2)]
    real_encode = writer_module.encode_track

    def encode(track):
        if track.video_id == "b" and track.track_id == 1:
            raise ValueError("track 1 cannot be encoded")
        return real_encode(track)

    monkeypatch.setattr(writer_module, "encode_track", encode)
    with pytest.raises(ValueError, match="track 1"), ShardedWriter(tmp_path) as writer:
        writer.write_video("a", good)
        writer.write_video("b", two)
    assert _videos(tmp_path) == ["a"]  # the whole video a, nothing of b
    assert not ShardedWriter(tmp_path).has("b")


def test_a_write_error_mid_video_discards_the_open_shard(tmp_path, monkeypatch):
    with pytest.raises(OSError), ShardedWriter(tmp_path) as writer:
        writer.write_video("a", [synthetic_track("a", LABEL_REAL)])
        calls = []
        real_write = writer._writer.write

        def failing(record):
            calls.append(record)
            if len(calls) == 2:
                raise OSError("disk full")
            real_write(record)

        monkeypatch.setattr(writer._writer, "write", failing)
        writer.write_video("b", [synthetic_track("b", LABEL_REAL, track_id=t) for t in range(2)])
    # The shard held half of b: it is dropped (a is written again by the next run).
    assert _videos(tmp_path) == [] and not list(tmp_path.glob("*.tfrecord"))
    assert not list(tmp_path.glob(".*.tmp"))


def test_shard_data_is_fsynced_before_its_manifest_line(tmp_path, monkeypatch):
    events = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append(os.readlink(f"/proc/self/fd/{fd}")),
                                                 real_fsync(fd))[1])
    with ShardedWriter(tmp_path) as writer:
        writer.write_video("a", [synthetic_track("a", LABEL_REAL)])
    synced = [os.path.basename(p) for p in events]
    shard = next(i for i, p in enumerate(synced) if p.endswith(".tfrecord.tmp"))
    manifest = synced.index("manifest.jsonl")
    assert shard < manifest


def test_temporaries_of_other_hosts_are_kept(tmp_path):
    other = tmp_path / ".tracks-otherhost-pid999998-0123abcd.tfrecord.tmp"
    other.write_bytes(b"live data of a writer on another machine")
    mine_dead = tmp_path / f".tracks-{socket.gethostname()}-pid999999-0123abcd.tfrecord.tmp"
    mine_dead.write_bytes(b"left by a dead writer here")
    ShardedWriter(tmp_path)
    assert other.exists() and not mine_dead.exists()
