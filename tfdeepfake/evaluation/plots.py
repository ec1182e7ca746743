"""PNG plots for reports: ROC, confusion matrix, score histograms, per-frame scores.

Matplotlib runs on the non-interactive Agg backend (no display needed). Every function
writes one PNG and returns its path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tfdeepfake.scoring.metrics import roc_auc, roc_curve  # noqa: E402


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_roc(
    curves: Mapping[str, tuple[Sequence[int], Sequence[float]]],
    path: str | Path,
    title: str = "ROC",
) -> Path:
    """ROC curves, one per entry of ``curves``: name -> (labels, scores); AUC in the legend.

    Entries with one class only are drawn as a note instead of a curve.
    """
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    for name, (labels, scores) in curves.items():
        fpr, tpr, _ = roc_curve(labels, scores)
        if np.isnan(fpr).any() or np.isnan(tpr).any():
            ax.plot([], [], " ", label=f"{name}: undefined (one class)")
            continue
        ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc(labels, scores):.3f})")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=title)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.legend(loc="lower right", fontsize="small")
    return _save(fig, path)


def plot_confusion_matrix(
    matrix: Sequence[Sequence[int]], path: str | Path, title: str = "Confusion matrix"
) -> Path:
    """A 2x2 confusion matrix ``[[TN, FP], [FN, TP]]`` with counts and row percentages."""
    cm = np.asarray(matrix, dtype=np.int64)
    if cm.shape != (2, 2):
        raise ValueError(f"confusion matrix must be 2x2 [[TN, FP], [FN, TP]], got {cm.shape}.")
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(cm, cmap="Blues", vmin=0, vmax=max(int(cm.max()), 1))
    for i in range(2):
        row = max(int(cm[i].sum()), 1)
        for j in range(2):
            colour = "white" if cm[i, j] > cm.max() / 2 else "black"
            text = f"{cm[i, j]}\n{100 * cm[i, j] / row:.1f}%"
            ax.text(j, i, text, ha="center", va="center", color=colour)
    ax.set_xticks([0, 1], ["REAL", "FAKE"])
    ax.set_yticks([0, 1], ["REAL", "FAKE"])
    ax.set(xlabel="predicted", ylabel="true", title=title)
    return _save(fig, path)


def plot_score_histogram(
    labels: Sequence[int],
    probabilities: Sequence[float],
    path: str | Path,
    threshold: float = 0.5,
    title: str = "Scores",
) -> Path:
    """Histograms of the probability of fake for real and fake samples, with the threshold."""
    y = np.asarray(labels).reshape(-1)
    p = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    fig, ax = plt.subplots(figsize=(6, 4))
    bins = np.linspace(0, 1, 26)
    for value, name, colour in ((0, "real", "tab:blue"), (1, "fake", "tab:red")):
        ax.hist(
            p[y == value],
            bins=bins,
            alpha=0.6,
            color=colour,
            label=f"{name} ({(y == value).sum()})",
        )
    ax.axvline(
        threshold, color="black", linestyle="--", linewidth=1, label=f"threshold {threshold:g}"
    )
    ax.set(xlabel="probability of fake", ylabel="count", title=title)
    ax.legend(fontsize="small")
    return _save(fig, path)


def plot_frame_scores(
    scores: Mapping[str, tuple[Sequence[int], Sequence[float]]],
    path: str | Path,
    threshold: float = 0.5,
    title: str = "Per-frame scores",
    xlabel: str = "seconds",
) -> Path:
    """Per-frame probability of fake for each model of one video.

    Args:
        scores: model name -> (times, probabilities), one line per model; times in
            ``xlabel`` units (seconds into the video, or frame indices without a frame rate).
        path: PNG to write.
        threshold: drawn as a dashed line.
        title: usually the video's name and verdict.
        xlabel: the unit of the times.
    """
    fig, ax = plt.subplots(figsize=(8, 3.5))
    for name, (frames, probs) in scores.items():
        frames = np.asarray(frames).reshape(-1)
        probs = np.asarray(probs, dtype=np.float64).reshape(-1)
        if frames.size != probs.size:
            raise ValueError(
                f"model {name!r}: {frames.size} times but {probs.size} scores."
            )
        ax.plot(frames, probs, marker="o", markersize=3, linewidth=1.2, label=name)
    ax.axhline(threshold, color="black", linestyle="--", linewidth=1, label="threshold")
    ax.set_ylim(-0.02, 1.02)
    ax.set(xlabel=xlabel, ylabel="probability of fake", title=title)
    ax.legend(fontsize="small", loc="best")
    return _save(fig, path)
