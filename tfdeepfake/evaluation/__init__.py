"""Metrics, video aggregation, plots and the evaluation report (labels: 1 = fake)."""

from tfdeepfake.evaluation.aggregation import (
    AGGREGATIONS,
    EnsembleVerdict,
    VideoScore,
    aggregate,
    aggregate_tracks,
    ensemble,
)
from tfdeepfake.evaluation.metrics import compute_metrics, metrics_by_group

__all__ = [
    "AGGREGATIONS",
    "EnsembleVerdict",
    "VideoScore",
    "aggregate",
    "aggregate_tracks",
    "compute_metrics",
    "ensemble",
    "metrics_by_group",
]
