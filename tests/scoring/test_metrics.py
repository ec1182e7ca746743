"""Every metric against scikit-learn, on random data, ties and one-class edge cases."""

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.exceptions import UndefinedMetricWarning

from tfdeepfake.scoring import metrics


def _cases():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    yield "random", y, rng.random(200)
    yield "separable-ish", y, np.clip(0.3 * y + 0.7 * rng.random(200), 0, 1)
    # Heavy ties: scores quantised to 5 levels.
    yield "ties", y, np.round(rng.random(200) * 4) / 4
    yield "all tied", y, np.full(200, 0.5)
    yield "tiny", np.array([0, 1, 1, 0, 1]), np.array([0.1, 0.4, 0.35, 0.8, 0.9])
    yield "imbalanced", (rng.random(300) < 0.05).astype(int), rng.random(300)


CASES = list(_cases())


@pytest.mark.parametrize("name,y,p", CASES, ids=[c[0] for c in CASES])
def test_ranking_metrics_match_sklearn(name, y, p):
    assert metrics.roc_auc(y, p) == pytest.approx(skm.roc_auc_score(y, p), abs=1e-12)
    assert metrics.average_precision(y, p) == pytest.approx(
        skm.average_precision_score(y, p), abs=1e-12
    )
    fpr, tpr, thr = metrics.roc_curve(y, p)
    sk_fpr, sk_tpr, sk_thr = skm.roc_curve(y, p, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)
    np.testing.assert_allclose(thr[1:], sk_thr[1:])


@pytest.mark.parametrize("threshold", [0.5, 0.3, 0.77])
@pytest.mark.parametrize("name,y,p", CASES, ids=[c[0] for c in CASES])
def test_threshold_metrics_match_sklearn(name, y, p, threshold):
    pred = (p >= threshold).astype(int)
    got = metrics.threshold_metrics(y, p, threshold)
    nan = np.nan
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    for key, fn in (
        ("precision", skm.precision_score),
        ("recall", skm.recall_score),
        ("f1", skm.f1_score),
    ):
        want = fn(y, pred, zero_division=nan)
        assert got[key] == pytest.approx(want, nan_ok=True), key
    want_spec = skm.recall_score(1 - y, 1 - pred, zero_division=nan)
    assert got["specificity"] == pytest.approx(want_spec, nan_ok=True)
    assert got["confusion_matrix"] == skm.confusion_matrix(y, pred, labels=[0, 1]).tolist()
    assert metrics.log_loss(y, p) == pytest.approx(skm.log_loss(y, p, labels=[0, 1]), rel=1e-9)


def test_eer_against_roc_crossing():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 500)
    p = np.clip(0.25 * y + 0.75 * rng.random(500), 0, 1)
    eer = metrics.equal_error_rate(y, p)
    fpr, tpr, _ = skm.roc_curve(y, p)
    fnr = 1 - tpr
    i = np.nanargmin(np.abs(fnr - fpr))  # DeepfakeBench's nearest-point EER
    assert abs(eer - fpr[i]) <= 2.0 / min(y.sum(), len(y) - y.sum())
    assert 0.1 < eer < 0.5


def test_eer_exact_values():
    assert metrics.equal_error_rate([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 0.0
    assert metrics.equal_error_rate([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 1.0
    # One real above one fake out of two each: the ROC passes through (0.5, 0.5).
    assert metrics.equal_error_rate([0, 0, 1, 1], [0.1, 0.6, 0.5, 0.9]) == pytest.approx(0.5)
    # All tied: the ROC is the diagonal, EER 0.5.
    assert metrics.equal_error_rate([0, 1, 0, 1], [0.5] * 4) == pytest.approx(0.5)


def test_one_class_is_reported_as_undefined():
    y = np.ones(10, int)
    p = np.linspace(0.1, 0.9, 10)
    assert np.isnan(metrics.roc_auc(y, p))
    with pytest.warns(UndefinedMetricWarning):
        assert np.isnan(skm.roc_auc_score(y, p))  # sklearn agrees: undefined
    out = metrics.compute_metrics(y, p)
    assert out["auc"] is None and out["eer"] is None and out["best_threshold"] is None
    assert "only one class" in out["undefined"]["auc"]
    assert out["ap"] == pytest.approx(skm.average_precision_score(y, p))  # defined: has fakes
    assert out["at_threshold"]["specificity"] is None
    assert "at_threshold.specificity" in out["undefined"]
    assert out["at_threshold"]["recall"] == pytest.approx(0.5)
    real_only = metrics.compute_metrics(np.zeros(4, int), [0.2, 0.4, 0.6, 0.8])
    assert real_only["ap"] is None and real_only["at_threshold"]["specificity"] == 0.5


def test_best_threshold_is_youden_optimal():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 300)
    p = np.clip(0.4 * y + 0.6 * rng.random(300), 0, 1)
    best = metrics.best_threshold(y, p)
    fpr, tpr, thr = skm.roc_curve(y, p)
    assert (tpr - fpr).max() == pytest.approx(
        ((p[y == 1] >= best).mean()) - ((p[y == 0] >= best).mean())
    )
    out = metrics.compute_metrics(y, p)
    assert out["best_threshold"]["threshold"] == best
    assert out["best_threshold"]["rule"] == "youden"
    assert out["best_threshold"]["accuracy"] >= 0.5


def test_bad_inputs_give_clear_errors():
    with pytest.raises(ValueError, match="labels must be 0"):
        metrics.roc_auc([0, 1, -1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="pass sigmoid"):
        metrics.compute_metrics([0, 1], [-3.0, 2.0])
    with pytest.raises(ValueError, match="3 values but labels has 2"):
        metrics.roc_auc([0, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="non-finite"):
        metrics.roc_auc([0, 1], [0.1, np.nan])
    with pytest.raises(ValueError, match="threshold must be strictly between 0 and 1, got 2"):
        metrics.compute_metrics([0, 1], [0.1, 0.9], threshold=2)


def test_metrics_by_group():
    y = np.array([0, 1, 0, 1, 1, 1])
    p = np.array([0.1, 0.9, 0.8, 0.2, 0.7, 0.6])
    out = metrics.metrics_by_group(y, p, {"dataset": ["a", "a", "b", "b", "c", "c"]})
    assert out["dataset"]["a"]["auc"] == 1.0
    assert out["dataset"]["b"]["auc"] == 0.0
    assert out["dataset"]["c"]["auc"] is None
    assert out["dataset"]["c"]["n"] == 2
