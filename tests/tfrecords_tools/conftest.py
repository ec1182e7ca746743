"""Synthetic shards shared by the tfrecords_tools tests."""

import pytest

from tfrecords_tools.synthetic import synthetic_track
from tfrecords_tools.writer import ShardedWriter


@pytest.fixture
def tracks():
    """Six one-track videos (3 real, 3 fake with masks), 4 frames of 32 px each."""
    return [
        synthetic_track(f"v{i}", int(i >= 3), seed=i, split="train" if i % 2 else "val")
        for i in range(6)
    ]


@pytest.fixture
def shard_dir(tmp_path, tracks):
    """A folder with the six tracks in two shards."""
    out = tmp_path / "shards"
    with ShardedWriter(out) as writer:
        for i, track in enumerate(tracks):
            writer.write(track)
            if i == 2:
                writer.flush()
    assert len(writer.shards) == 2
    return out
