"""From per-frame predictions to an evaluation report folder: metrics.json, CSVs and PNGs.

The input is a ``FramePredictions`` table (one row per scored frame, or per clip for
sequence models). Videos are keyed by ``(dataset, video_id)``; each face track is
aggregated on its own and the video takes its most suspicious track. Rows with label -1
(unlabelled) are written to ``per_frame.csv`` and counted, but kept out of the metrics.

Files written to the report folder:
    metrics.json    frame- and video-level metrics (overall, per dataset, per split) for
                    every aggregation, plus counts and settings
    per_frame.csv   dataset, split, video_id, track_id, frame_index, label, logit, probability
    per_video.csv   dataset, split, video_id, label, tracks, frames, then per aggregation
                    ``<m>_logit``, ``<m>_probability``, ``<m>_track``
    roc.png, confusion_frame.png, confusion_video.png, hist_frame.png, hist_video.png
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tfdeepfake.evaluation import plots
from tfdeepfake.safeio import atomic_write, csv_row, decode_text, write_text_atomic
from tfdeepfake.scoring.aggregation import (
    AGGREGATIONS,
    aggregate,
    aggregate_tracks,
    sigmoid,
)
from tfdeepfake.scoring.metrics import compute_metrics, confusion_matrix, metrics_by_group

_COLUMNS = ("dataset", "split", "video_id", "track_id", "frame_index", "label", "logit")


@dataclasses.dataclass
class FramePredictions:
    """Per-frame (or per-clip) logits with the ids that say where each came from."""

    dataset: np.ndarray
    split: np.ndarray
    video_id: np.ndarray
    track_id: np.ndarray
    frame_index: np.ndarray
    label: np.ndarray
    logit: np.ndarray

    def __post_init__(self):
        for name in _COLUMNS:
            setattr(self, name, np.asarray(getattr(self, name)).reshape(-1))
        n = {name: len(getattr(self, name)) for name in _COLUMNS}
        if len(set(n.values())) != 1:
            raise ValueError(f"FramePredictions columns differ in length: {n}.")
        self.label = self.label.astype(np.int64)
        self.logit = self.logit.astype(np.float64)
        self.track_id = self.track_id.astype(np.int64)
        self.frame_index = self.frame_index.astype(np.int64)
        for name in ("dataset", "split", "video_id"):
            col = getattr(self, name)
            setattr(self, name, np.array([_text(v) for v in col], dtype=object))

    def __len__(self) -> int:
        return len(self.logit)

    @classmethod
    def concatenate(cls, parts: Sequence[FramePredictions]) -> FramePredictions:
        """Join several tables (e.g. one per batch)."""
        if not parts:
            raise ValueError("No predictions to join: the data gave no frames.")
        return cls(**{c: np.concatenate([getattr(p, c) for p in parts]) for c in _COLUMNS})


def _text(value: Any) -> str:
    return decode_text(value) if isinstance(value, bytes) else str(value)


def default_aggregations(sequence: bool) -> list[str]:
    """Every strategy, less the one that duplicates another for this kind of model
    (``sequence`` equals ``mean_logit`` on frame logits, and the reverse for clips)."""
    skip = "mean_logit" if sequence else "sequence"
    return [m for m in AGGREGATIONS if m != skip]


def video_scores(frames: FramePredictions, aggregations: Sequence[str]) -> list[dict[str, Any]]:
    """One row per video: ids, label, counts, and per aggregation the video logit,
    probability and the id of the track it came from (the most suspicious track)."""
    keys = list(zip(frames.dataset, frames.video_id))
    order: dict[tuple[str, str], list[int]] = {}
    for i, key in enumerate(keys):
        order.setdefault(key, []).append(i)
    rows = []
    for (dataset, video_id), idx in order.items():
        idx = np.asarray(idx)
        labels = set(frames.label[idx].tolist())
        tracks = sorted(set(frames.track_id[idx].tolist()))
        row: dict[str, Any] = {
            "dataset": dataset,
            "split": frames.split[idx[0]],
            "video_id": video_id,
            "label": max(labels),
            "label_conflict": len(labels) > 1,
            "tracks": len(tracks),
            "frames": len(idx),
        }
        per_track = [frames.logit[idx][frames.track_id[idx] == t] for t in tracks]
        for method in aggregations:
            best, score = aggregate_tracks([aggregate(z, method) for z in per_track])
            row[f"{method}_logit"] = score.logit
            row[f"{method}_probability"] = score.probability
            row[f"{method}_track"] = tracks[best]
        rows.append(row)
    return rows


def _level_metrics(labels, probabilities, datasets, splits, threshold) -> dict[str, Any]:
    labels = np.asarray(labels)
    keep = labels >= 0
    y, p = labels[keep], np.asarray(probabilities)[keep]
    groups = {"dataset": np.asarray(datasets)[keep], "split": np.asarray(splits)[keep]}
    by = metrics_by_group(y, p, groups, threshold) if keep.any() else {}
    return {
        "overall": compute_metrics(y, p, threshold),
        "by_dataset": by.get("dataset", {}),
        "by_split": by.get("split", {}),
        "unlabelled": int((~keep).sum()),
    }


def _write_csv(path: Path, rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    with atomic_write(path, newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(csv_row({k: f"{v:.6g}" if isinstance(v, float) else v
                                     for k, v in row.items()}))


def write_report(
    frames: FramePredictions,
    out_dir: str | Path,
    *,
    aggregations: Sequence[str] | None = None,
    primary: str | None = None,
    threshold: float = 0.5,
    unit: str = "frame",
    info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Compute every metric and write the report folder; returns the metrics.json document.

    Args:
        frames: the predictions.
        out_dir: the report folder (created).
        aggregations: strategies to evaluate; default ``default_aggregations``.
        primary: the strategy the video confusion matrix and histogram show (default: the
            first of ``aggregations``; pass the preset's).
        threshold: probability of fake at which a sample counts as fake (p >= threshold).
        unit: ``"frame"`` or ``"clip"`` (what one row of ``frames`` is).
        info: extra entries for metrics.json (model, run, data ...).
    """
    if len(frames) == 0:
        raise ValueError("No predictions: the data gave no frames to evaluate.")
    aggregations = list(aggregations or default_aggregations(unit == "clip"))
    unknown = [m for m in aggregations if m not in AGGREGATIONS]
    if unknown:
        raise ValueError(f"Unknown aggregation(s) {unknown}; choose from {list(AGGREGATIONS)}.")
    primary = primary if primary in aggregations else aggregations[0]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    frame_p = sigmoid(frames.logit)
    frame_rows = [
        {c: getattr(frames, c)[i] for c in _COLUMNS} | {"probability": float(frame_p[i])}
        for i in range(len(frames))
    ]
    _write_csv(out / "per_frame.csv", frame_rows, (*_COLUMNS, "probability"))
    videos = video_scores(frames, aggregations)
    video_cols = ["dataset", "split", "video_id", "label", "label_conflict", "tracks", "frames"]
    for m in aggregations:
        video_cols += [f"{m}_logit", f"{m}_probability", f"{m}_track"]
    _write_csv(out / "per_video.csv", videos, video_cols)

    v_labels = np.array([v["label"] for v in videos])
    v_data = [v["dataset"] for v in videos]
    v_split = [v["split"] for v in videos]
    document: dict[str, Any] = {
        **(info or {}),
        "threshold": threshold,
        "unit": unit,
        "best_threshold_rule": "youden (max TPR - FPR)",
        "aggregations": aggregations,
        "primary_aggregation": primary,
        "counts": {
            unit + "s": len(frames),
            "videos": len(videos),
            "tracks": int(len(set(zip(frames.dataset, frames.video_id, frames.track_id)))),
            "videos_with_label_conflict": [v["video_id"] for v in videos if v["label_conflict"]],
        },
        unit: _level_metrics(frames.label, frame_p, frames.dataset, frames.split, threshold),
        "video": {
            m: _level_metrics(
                v_labels, [v[f"{m}_probability"] for v in videos], v_data, v_split, threshold
            )
            for m in aggregations
        },
    }
    write_text_atomic(out / "metrics.json", json.dumps(document, indent=2) + "\n")
    _write_plots(out, frames, frame_p, videos, v_labels, aggregations, primary, threshold, unit)
    return document


def _write_plots(out, frames, frame_p, videos, v_labels, aggregations, primary, threshold, unit):
    labelled = frames.label >= 0
    v_keep = v_labels >= 0
    y_f, p_f = frames.label[labelled], frame_p[labelled]
    curves = {unit: (y_f, p_f)}
    for m in aggregations:
        curves[f"video {m}"] = (
            v_labels[v_keep],
            np.array([v[f"{m}_probability"] for v in videos])[v_keep],
        )
    plots.plot_roc(curves, out / "roc.png", title="ROC (1 = fake)")
    y_v, p_v = curves[f"video {primary}"]
    plots.plot_confusion_matrix(
        confusion_matrix(y_f, p_f, threshold),
        out / f"confusion_{unit}.png",
        title=f"{unit} level, threshold {threshold:g}",
    )
    plots.plot_confusion_matrix(
        confusion_matrix(y_v, p_v, threshold),
        out / "confusion_video.png",
        title=f"video level ({primary}), threshold {threshold:g}",
    )
    plots.plot_score_histogram(y_f, p_f, out / f"hist_{unit}.png", threshold, f"{unit} scores")
    plots.plot_score_histogram(
        y_v, p_v, out / "hist_video.png", threshold, f"video scores ({primary})"
    )
