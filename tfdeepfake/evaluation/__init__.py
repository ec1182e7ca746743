"""Evaluation of a model on labelled shards: plots and the report (labels: 1 = fake).

Metrics and video aggregation live in ``tfdeepfake.scoring`` and are re-exported here.
Names are imported lazily, so importing the package does not load matplotlib or TensorFlow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tfdeepfake._lazy import lazy_exports

if TYPE_CHECKING:
    from tfdeepfake.evaluation.evaluator import evaluate, evaluate_run, predict_batches
    from tfdeepfake.evaluation.report import FramePredictions, write_report
    from tfdeepfake.scoring.aggregation import (
        AGGREGATIONS,
        EnsembleVerdict,
        VideoScore,
        aggregate,
        aggregate_tracks,
        ensemble,
    )
    from tfdeepfake.scoring.metrics import compute_metrics, metrics_by_group

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
