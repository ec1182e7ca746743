"""`evaluate`: score every frame (or clip) of labelled shards with a model and write the report.

The frames come from ``tfdeepfake.data.frame_dataset`` (``clip_dataset`` for sequence
models) with ``training=False``: no augmentation, the preset's crop and normalisation, the
same code training uses.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tfdeepfake.evaluation.report import FramePredictions, write_report
from tfdeepfake.models.base import require_detector

_ID_KEYS = ("dataset", "split", "video_id", "track_id", "frame_index")


def _numpy(value: Any) -> np.ndarray:
    return np.asarray(value.numpy() if hasattr(value, "numpy") else value)


def predict_batches(model: Any, batches: Iterable[dict[str, Any]]) -> FramePredictions:
    """Run ``model`` over batches of ``{"images", "labels", "video_id", "track_id",
    "frame_index", "dataset", "split"}`` and collect one row per frame (or clip).

    ``images`` are the model's input (normalised float crops (B, H, W, 3) or clips
    (B, T, H, W, 3)). For clips, ``frame_index`` may be (B, T): the first frame is kept.
    """
    # A Keras model's predict_on_batch runs a compiled function (much faster than eager).
    predict = getattr(model, "predict_on_batch", None) or (lambda x: model(x, training=False))
    parts = []
    for batch in batches:
        missing = [k for k in ("images", "labels", *_ID_KEYS) if k not in batch]
        if missing:
            raise ValueError(
                f"Evaluation batches need the keys {missing}; build the dataset with with_ids=True."
            )
        outputs = predict(batch["images"])
        logits = outputs["logit"] if isinstance(outputs, dict) else outputs
        logits = _numpy(logits).reshape(-1)
        frame_index = _numpy(batch["frame_index"])
        if frame_index.ndim > 1:
            frame_index = frame_index.reshape(len(logits), -1)[:, 0]
        parts.append(
            FramePredictions(
                dataset=_numpy(batch["dataset"]).reshape(-1),
                split=_numpy(batch["split"]).reshape(-1),
                video_id=_numpy(batch["video_id"]).reshape(-1),
                track_id=_numpy(batch["track_id"]).reshape(-1),
                frame_index=frame_index,
                label=_numpy(batch["labels"]).reshape(-1),
                logit=logits,
            )
        )
    if not parts:
        raise ValueError("The data gave no frames to evaluate (empty shards?).")
    return FramePredictions.concatenate(parts)


def check_settings(
    data: Any, threshold: float, batch_size: int, aggregations: Sequence[str] | None
) -> None:
    """Fail early, naming the setting, on a bad threshold, batch size, aggregation or data."""
    from tfdeepfake.scoring.aggregation import AGGREGATIONS
    from tfrecords_tools.reader import list_shards

    if not 0.0 < threshold < 1.0:
        raise ValueError(f"--threshold must be strictly between 0 and 1, got {threshold}.")
    if batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, got {batch_size}.")
    unknown = [m for m in aggregations or () if m not in AGGREGATIONS]
    if unknown:
        raise ValueError(f"Unknown aggregation(s) {unknown}; choose from {list(AGGREGATIONS)}.")
    list_shards(data)  # raises FileNotFoundError naming the folder when it has no shards


def evaluate(
    model: Any,
    data: str | Path | Sequence[str],
    out_dir: str | Path,
    *,
    preset: Any = None,
    aggregations: Sequence[str] | None = None,
    threshold: float = 0.5,
    batch_size: int = 32,
    skip_corrupt: bool = False,
    info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Score the shards in ``data`` with ``model`` and write the report into ``out_dir``.

    Args:
        model: a detector (its ``preset`` attribute is used when ``preset`` is None).
        data: a folder of shards, a glob, or a list of shard paths (labelled: 0/1).
        out_dir: the report folder (see ``tfdeepfake.evaluation.report``).
        aggregations: video strategies to report; default all that apply.
        threshold: probability of fake at which a frame/video counts as fake.
        batch_size: frames (clips) per forward pass.
        skip_corrupt: skip corrupt records (counted in metrics.json) instead of failing.
        info: extra entries for metrics.json (e.g. ``weights``: the file scored).

    Returns:
        The metrics.json document.

    Example:
        >>> run = tfdeepfake.runs.load_run("runs/b4")
        >>> doc = evaluate(run.model, "shards/test", "reports/b4", preset=run.preset)
        >>> doc["video"]["mean_logit"]["overall"]["auc"]
    """
    from tfdeepfake import data as pipelines
    from tfrecords_tools.reader import ReadStats

    if preset is not None:
        from tfdeepfake.models import get_preset

        preset = get_preset(preset)
    else:
        preset = require_detector(model, "evaluate").preset
    if preset is None:
        raise ValueError(
            "evaluate() needs the model's preset: pass preset= (runs.load_run gives it)."
        )
    check_settings(data, threshold, batch_size, aggregations)
    stats = ReadStats()
    make = pipelines.clip_dataset if preset.sequence else pipelines.frame_dataset
    dataset = make(
        data,
        preset,
        batch_size=batch_size,
        training=False,
        with_ids=True,
        skip_corrupt=skip_corrupt,
        stats=stats,
    )
    start = time.perf_counter()
    frames = predict_batches(model, dataset)
    seconds = time.perf_counter() - start
    unit = "clip" if preset.sequence else "frame"
    doc_info = {
        "model": preset.name,
        "data": [str(d) for d in data] if isinstance(data, (list, tuple)) else str(data),
        "weights": None,
        "skipped_corrupt_records": int(stats.skipped) if skip_corrupt else 0,
        "predict_seconds": round(seconds, 3),
        f"{unit}s_per_second": round(len(frames) / max(seconds, 1e-9), 2),
        **(info or {}),
    }
    return write_report(
        frames,
        out_dir,
        aggregations=aggregations,
        primary=preset.aggregation,
        threshold=threshold,
        unit=unit,
        info=doc_info,
    )


def evaluate_run(run_dir: str | Path, data: Any, out_dir: str | Path, **kwargs: Any) -> dict:
    """``evaluate`` the best weights of a training run folder (``tfdeepfake train --out``)."""
    from tfdeepfake import runs

    run = runs.load_run(run_dir)
    info = {"run": str(run_dir), "weights": run.weights_source}
    return evaluate(run.model, data, out_dir, preset=run.preset, info=info, **kwargs)
