"""Metrics, video aggregation, plots and the evaluation report (labels: 1 = fake)."""

from tfdeepfake.evaluation.aggregation import (
    AGGREGATIONS,
    EnsembleVerdict,
    VideoScore,
    aggregate,
    aggregate_tracks,
    ensemble,
)
from tfdeepfake.evaluation.evaluator import evaluate, evaluate_run, predict_batches
from tfdeepfake.evaluation.metrics import compute_metrics, metrics_by_group
from tfdeepfake.evaluation.report import FramePredictions, write_report

__all__ = [
    "AGGREGATIONS",
    "EnsembleVerdict",
    "FramePredictions",
    "VideoScore",
    "aggregate",
    "aggregate_tracks",
    "compute_metrics",
    "ensemble",
    "evaluate",
    "evaluate_run",
    "metrics_by_group",
    "predict_batches",
    "write_report",
]
