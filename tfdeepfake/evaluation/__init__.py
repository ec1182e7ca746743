"""Evaluation of a model on labelled shards: plots and the report (labels: 1 = fake).

Metrics and video aggregation live in ``tfdeepfake.scoring`` and are re-exported here.
Names are imported lazily, so importing the package does not load matplotlib or TensorFlow.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "AGGREGATIONS": "tfdeepfake.scoring.aggregation",
    "EnsembleVerdict": "tfdeepfake.scoring.aggregation",
    "VideoScore": "tfdeepfake.scoring.aggregation",
    "aggregate": "tfdeepfake.scoring.aggregation",
    "aggregate_tracks": "tfdeepfake.scoring.aggregation",
    "ensemble": "tfdeepfake.scoring.aggregation",
    "compute_metrics": "tfdeepfake.scoring.metrics",
    "metrics_by_group": "tfdeepfake.scoring.metrics",
    "FramePredictions": "tfdeepfake.evaluation.report",
    "write_report": "tfdeepfake.evaluation.report",
    "evaluate": "tfdeepfake.evaluation.evaluator",
    "evaluate_run": "tfdeepfake.evaluation.evaluator",
    "predict_batches": "tfdeepfake.evaluation.evaluator",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tfdeepfake.evaluation' has no attribute {name!r}")
