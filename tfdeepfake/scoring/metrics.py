"""Binary detection metrics in numpy (labels: 1 = fake = positive class).

Scores given to the ranking metrics (AUC, AP, EER, ROC) may be logits or
probabilities (any monotone score); threshold metrics take probabilities of fake and
call a sample fake when ``p >= threshold``.

A metric that is undefined on the given data (AUC, AP or EER with one class only; a
precision with no predicted fake; ...) is returned as NaN by the functions here, and as
``None`` plus a reason in ``compute_metrics``'s ``"undefined"`` entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

_LOG_EPS = float(np.finfo(np.float64).eps)  # what scikit-learn clips to


def _labels(labels: Sequence[int] | np.ndarray) -> np.ndarray:
    y = np.asarray(labels).reshape(-1)
    if y.size and not np.all((y == 0) | (y == 1)):
        bad = sorted({v.item() for v in np.unique(y)} - {0, 1})
        raise ValueError(
            f"labels must be 0 (real) or 1 (fake), got {bad[:5]}; drop unlabelled (-1) "
            "samples before computing metrics."
        )
    return y.astype(np.int64)


def _scores(scores: Sequence[float] | np.ndarray, n: int, name: str = "scores") -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if s.size != n:
        raise ValueError(f"{name} has {s.size} values but labels has {n}.")
    if not np.all(np.isfinite(s)):
        raise ValueError(f"{name} contains {int(np.sum(~np.isfinite(s)))} non-finite values.")
    return s


def _probabilities(probabilities, n: int) -> np.ndarray:
    p = _scores(probabilities, n, "probabilities")
    if p.size and (p.min() < 0.0 or p.max() > 1.0):
        raise ValueError(
            "probabilities must lie in [0, 1]; pass sigmoid(logits), not logits "
            f"(got min {p.min():.3g}, max {p.max():.3g})."
        )
    return p


def _divide(num: float, den: float) -> float:
    return float(num) / float(den) if den else float("nan")


def roc_curve(labels, scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC points ``(fpr, tpr, thresholds)`` at every distinct score, highest first.

    The first point is (0, 0) at threshold +inf, as in scikit-learn with
    ``drop_intermediate=False``. NaN rates when a class is absent.
    """
    y = _labels(labels)
    s = _scores(scores, y.size)
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last_of_run = np.r_[np.nonzero(np.diff(s))[0], s.size - 1] if s.size else np.array([], int)
    tps = np.cumsum(y)[last_of_run]
    fps = (last_of_run + 1) - tps
    tps = np.r_[0, tps]
    fps = np.r_[0, fps]
    pos, neg = int(y.sum()), int(y.size - y.sum())
    tpr = tps / pos if pos else np.full(tps.shape, np.nan)
    fpr = fps / neg if neg else np.full(fps.shape, np.nan)
    return fpr, tpr, np.r_[np.inf, s[last_of_run]]


def roc_auc(labels, scores) -> float:
    """Area under the ROC curve (ties count half); NaN when only one class is present."""
    y = _labels(labels)
    s = _scores(scores, y.size)
    pos, neg = int(y.sum()), int(y.size - y.sum())
    if pos == 0 or neg == 0:
        return float("nan")
    # Mann-Whitney U with average ranks for ties.
    order = np.argsort(s, kind="mergesort")
    sorted_s = s[order]
    ranks = np.empty(s.size, dtype=np.float64)
    starts = np.r_[0, np.nonzero(np.diff(sorted_s))[0] + 1]
    ends = np.r_[starts[1:], s.size]
    for a, b in zip(starts, ends):
        ranks[order[a:b]] = (a + b + 1) / 2.0  # mean of 1-based ranks a+1..b
    u = ranks[y == 1].sum() - pos * (pos + 1) / 2.0
    return float(u / (pos * neg))


def average_precision(labels, scores) -> float:
    """Average precision, sum over thresholds of (R_k - R_k-1) * P_k (scikit-learn's
    definition, no interpolation); NaN when there is no fake sample."""
    y = _labels(labels)
    s = _scores(scores, y.size)
    pos = int(y.sum())
    if pos == 0:
        return float("nan")
    fpr, tpr, _ = roc_curve(y, s)
    neg = y.size - pos
    tps = tpr * pos
    fps = np.nan_to_num(fpr) * neg
    precision = tps[1:] / (tps[1:] + fps[1:])
    recall = tpr[1:]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def equal_error_rate(labels, scores) -> float:
    """Equal error rate: where the false positive rate equals the false negative rate,
    linearly interpolated on the ROC segment that crosses it; NaN with one class only."""
    fpr, tpr, _ = roc_curve(labels, scores)
    if np.isnan(fpr).any() or np.isnan(tpr).any():
        return float("nan")
    diff = (1.0 - tpr) - fpr  # starts at 1 (fpr 0, fnr 1), ends at -1, non-increasing
    i = int(np.nonzero(diff <= 0)[0][0])
    if diff[i] == 0:
        return float(fpr[i])
    t = diff[i - 1] / (diff[i - 1] - diff[i])
    return float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))


def log_loss(labels, probabilities, eps: float = _LOG_EPS) -> float:
    """Mean binary cross-entropy of probabilities of fake, clipped to ``[eps, 1 - eps]``."""
    y = _labels(labels)
    p = np.clip(_probabilities(probabilities, y.size), eps, 1.0 - eps)
    if y.size == 0:
        return float("nan")
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def confusion_matrix(labels, probabilities, threshold: float = 0.5) -> np.ndarray:
    """``[[TN, FP], [FN, TP]]`` (rows: true real/fake; columns: predicted real/fake)."""
    y = _labels(labels)
    pred = (_probabilities(probabilities, y.size) >= threshold).astype(np.int64)
    return np.array(
        [
            [np.sum((y == 0) & (pred == 0)), np.sum((y == 0) & (pred == 1))],
            [np.sum((y == 1) & (pred == 0)), np.sum((y == 1) & (pred == 1))],
        ],
        dtype=np.int64,
    )


def threshold_metrics(labels, probabilities, threshold: float = 0.5) -> dict[str, Any]:
    """Accuracy, precision, recall, specificity, F1 and the confusion matrix at ``threshold``."""
    cm = confusion_matrix(labels, probabilities, threshold)
    (tn, fp), (fn, tp) = cm.tolist()
    precision = _divide(tp, tp + fp)
    recall = _divide(tp, tp + fn)
    return {
        "threshold": float(threshold),
        "accuracy": _divide(tp + tn, cm.sum()),
        "precision": precision,
        "recall": recall,
        "specificity": _divide(tn, tn + fp),
        "f1": _divide(2 * tp, 2 * tp + fp + fn),
        "confusion_matrix": cm.tolist(),
    }


def best_threshold(labels, probabilities) -> float:
    """The threshold that maximises Youden's J = TPR - FPR (ties: the highest threshold).

    Chosen among the distinct probabilities (predicting fake when ``p >= threshold``);
    NaN when only one class is present.
    """
    fpr, tpr, thresholds = roc_curve(labels, probabilities)
    if np.isnan(fpr).any() or np.isnan(tpr).any():
        return float("nan")
    j = tpr[1:] - fpr[1:]
    return float(thresholds[1:][int(np.argmax(j))])


def compute_metrics(labels, probabilities, threshold: float = 0.5) -> dict[str, Any]:
    """Every metric for one set of samples, JSON-ready (undefined values are ``None``).

    Returns a dict with ``n``, ``n_fake``, ``n_real``, ``auc``, ``ap``, ``eer``,
    ``log_loss``, ``at_threshold`` (see ``threshold_metrics``), ``best_threshold`` (the
    same at the Youden-optimal threshold, or None) and ``undefined`` (metric -> reason).
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be strictly between 0 and 1, got {threshold}.")
    y = _labels(labels)
    p = _probabilities(probabilities, y.size)
    n_fake = int(y.sum())
    out: dict[str, Any] = {
        "n": int(y.size),
        "n_fake": n_fake,
        "n_real": int(y.size - n_fake),
        "auc": roc_auc(y, p),
        "ap": average_precision(y, p),
        "eer": equal_error_rate(y, p),
        "log_loss": log_loss(y, p),
        "at_threshold": threshold_metrics(y, p, threshold),
    }
    best = best_threshold(y, p)
    out["best_threshold"] = None if np.isnan(best) else threshold_metrics(y, p, best)
    if out["best_threshold"] is not None:
        out["best_threshold"]["rule"] = "youden"
    out["undefined"] = {}
    one_class = f"only one class present ({n_fake} fake, {y.size - n_fake} real)"
    for key in ("auc", "ap", "eer", "log_loss"):
        if np.isnan(out[key]):
            out[key] = None
            out["undefined"][key] = one_class if y.size else "no samples"
    for name in ("at_threshold", "best_threshold"):
        section = out[name]
        for key, value in (section or {}).items():
            if isinstance(value, float) and np.isnan(value):
                section[key] = None
                out["undefined"][f"{name}.{key}"] = "zero denominator (no such samples)"
    if out["best_threshold"] is None:
        out["undefined"]["best_threshold"] = one_class
    return out


def metrics_by_group(
    labels, probabilities, groups: dict[str, Sequence[str]], threshold: float = 0.5
) -> dict[str, dict[str, dict[str, Any]]]:
    """``compute_metrics`` per value of each grouping, e.g. ``{"dataset": [...], "split": [...]}``.

    Returns ``{grouping: {value: metrics}}``; unlabelled rows must be removed first.
    """
    y = _labels(labels)
    p = _probabilities(probabilities, y.size)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for grouping, values in groups.items():
        values = np.asarray(values, dtype=object)
        if values.size != y.size:
            raise ValueError(f"group {grouping!r} has {values.size} values, labels {y.size}.")
        out[grouping] = {
            str(v): compute_metrics(y[values == v], p[values == v], threshold)
            for v in sorted(set(values.tolist()), key=str)
        }
    return out
