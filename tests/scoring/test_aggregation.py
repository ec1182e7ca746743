"""Video aggregation strategies, track selection and the ensemble verdict."""

import numpy as np
import pytest

from tfdeepfake.scoring import aggregation as agg


def _logit(p):
    p = np.asarray(p, float)
    return np.log(p / (1 - p))


def test_simple_strategies():
    z = np.array([2.0, -1.0, 0.5, 4.0])
    p = 1 / (1 + np.exp(-z))
    assert agg.aggregate(z, "mean_logit").logit == pytest.approx(z.mean())
    assert agg.aggregate(z, "mean_logit").probability == pytest.approx(1 / (1 + np.exp(-1.375)))
    assert agg.aggregate(z, "mean_prob").probability == pytest.approx(p.mean())
    assert agg.aggregate(z, "median").logit == pytest.approx(1.25)
    assert agg.aggregate(z, "max_abs_logit").logit == 4.0
    assert agg.aggregate([-5.0, 3.0], "max_abs_logit").logit == -5.0
    assert agg.aggregate(z, "vote").probability == pytest.approx(0.75)
    assert agg.aggregate([1.5], "sequence").logit == 1.5
    for method in agg.AGGREGATIONS:
        s = agg.aggregate(z, method)
        assert 0.0 <= s.probability <= 1.0
        assert s.probability == pytest.approx(1 / (1 + np.exp(-s.logit)), abs=1e-6)


def test_confident_strategy_branches():
    # 32 frames, 13 above 0.8 (> 12.8 and > 11): mean of the confident fakes.
    p = np.r_[np.full(13, 0.9), np.full(10, 0.95)[:0], np.full(19, 0.5)]
    assert agg.aggregate(_logit(p), "confident").probability == pytest.approx(0.9)
    # 12 above 0.8 out of 32 (not > 12.8): falls through to the mean of all.
    p = np.r_[np.full(12, 0.9), np.full(20, 0.5)]
    assert agg.aggregate(_logit(p), "confident").probability == pytest.approx(p.mean())
    # 10 frames all at 0.9: fakes > n/2.5 but not > 11, and no reals: mean of all.
    p = np.full(10, 0.9)
    assert agg.aggregate(_logit(p), "confident").probability == pytest.approx(0.9)
    # 30 of 32 below 0.2 (> 28.8): mean of those.
    p = np.r_[np.full(30, 0.1), np.full(2, 0.7)]
    assert agg.aggregate(_logit(p), "confident").probability == pytest.approx(0.1)
    # 28 of 32 below 0.2 (not > 28.8): mean of all.
    p = np.r_[np.full(28, 0.1), np.full(4, 0.7)]
    assert agg.aggregate(_logit(p), "confident").probability == pytest.approx(p.mean())


def test_aggregate_rejects_bad_input():
    with pytest.raises(ValueError, match="Unknown aggregation 'nope'"):
        agg.aggregate([0.0], "nope")
    with pytest.raises(ValueError, match="no frame logits"):
        agg.aggregate([], "mean_logit")
    with pytest.raises(ValueError, match="non-finite"):
        agg.aggregate([0.0, np.nan], "mean_logit")


def test_tracks_take_most_suspicious():
    scores = [agg.VideoScore(-1.0, 0.27), agg.VideoScore(2.0, 0.88), agg.VideoScore(0.0, 0.5)]
    assert agg.aggregate_tracks(scores) == (1, scores[1])
    with pytest.raises(ValueError, match="no tracks"):
        agg.aggregate_tracks([])


def test_ensemble_verdict():
    v = agg.ensemble({"a": 0.9, "b": 0.7, "c": 0.2}, threshold=0.5)
    assert v.probability == pytest.approx(0.6) and v.label == "FAKE"
    assert v.confidence == pytest.approx(0.6)
    v = agg.ensemble({"a": 0.1, "b": None, "c": float("nan")}, threshold=0.5)
    assert v.label == "REAL" and v.confidence == pytest.approx(0.9)
    assert v.missing == ("b", "c") and v.members == {"a": 0.1}
    assert agg.ensemble({"a": 0.5}).label == "FAKE"  # p >= threshold is fake
    with pytest.raises(ValueError, match="not logits"):
        agg.ensemble({"a": 2.3})
    with pytest.raises(ValueError, match="No ensemble member"):
        agg.ensemble({"a": None})
    with pytest.raises(ValueError, match="threshold"):
        agg.ensemble({"a": 0.3}, threshold=1.5)


def test_ensemble_wants_scores_by_model_name():
    with pytest.raises(TypeError, match="must map each model name to its video probability"):
        agg.ensemble([0.7, 0.8])
