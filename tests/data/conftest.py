"""Synthetic shards for the pipeline tests (drawn faces, 64 px crops, margin 0.5)."""

import pytest

from tfrecords_tools.schema import LABEL_FAKE, LABEL_REAL
from tfrecords_tools.synthetic import synthetic_track
from tfrecords_tools.writer import ShardedWriter


@pytest.fixture(scope="session")
def shards(tmp_path_factory):
    """2 real and 6 fake one-track videos of 10 frames in 4 shards (imbalanced on purpose)."""
    out = tmp_path_factory.mktemp("shards")
    with ShardedWriter(out) as writer:
        for i in range(8):
            label = LABEL_REAL if i in (0, 4) else LABEL_FAKE
            writer.write(synthetic_track(f"v{i}", label, frames=10, size=64, seed=i))
            if i % 2:
                writer.flush()
    return out
