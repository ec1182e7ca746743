"""Prediction glue: batches of ids + images -> FramePredictions (frames and clips)."""

import numpy as np
import pytest

from tfdeepfake.evaluation.evaluator import predict_batches


class _MeanModel:
    """A stand-in detector: the logit is the mean pixel value (deterministic, checkable)."""

    def __call__(self, images, training=False):
        x = np.asarray(images)
        return {"logit": x.reshape(len(x), -1).mean(axis=1, keepdims=True)}


def _batch(n, start, clip=False):
    rng = np.random.default_rng(start)
    shape = (n, 3, 8, 8, 3) if clip else (n, 8, 8, 3)
    fi = np.arange(start, start + n)
    return {
        "images": rng.normal(size=shape).astype("float32"),
        "labels": np.array([[i % 2] for i in range(n)]),
        "video_id": np.array([f"v{i // 2}".encode() for i in range(start, start + n)]),
        "track_id": np.zeros(n, np.int64),
        "frame_index": np.stack([fi, fi + 1, fi + 2], 1) if clip else fi,
        "dataset": np.array([b"synthetic"] * n),
        "split": np.array([b"test"] * n),
    }


@pytest.mark.parametrize("clip", [False, True])
def test_predict_batches(clip):
    batches = [_batch(4, 0, clip), _batch(3, 4, clip)]
    out = predict_batches(_MeanModel(), batches)
    assert len(out) == 7
    want = np.concatenate([b["images"].reshape(len(b["images"]), -1).mean(1) for b in batches])
    np.testing.assert_allclose(out.logit, want, rtol=1e-6)
    assert out.video_id.tolist() == ["v0", "v0", "v1", "v1", "v2", "v2", "v3"]
    assert out.frame_index.tolist() == list(range(7))  # clips: their first frame
    assert out.label.tolist() == [0, 1, 0, 1, 0, 1, 0]


def test_predict_batches_errors():
    with pytest.raises(ValueError, match="no frames"):
        predict_batches(_MeanModel(), [])
    bad = _batch(2, 0)
    del bad["video_id"]
    with pytest.raises(ValueError, match=r"need the keys \['video_id'\].*with_ids=True"):
        predict_batches(_MeanModel(), [bad])
