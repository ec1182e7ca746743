"""Metrics, video aggregation, plots and the evaluation report (labels: 1 = fake).

Names are imported lazily, so importing ``tfdeepfake.evaluation.aggregation`` (numpy only)
does not load matplotlib or TensorFlow.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "AGGREGATIONS": "tfdeepfake.evaluation.aggregation",
    "EnsembleVerdict": "tfdeepfake.evaluation.aggregation",
    "VideoScore": "tfdeepfake.evaluation.aggregation",
    "aggregate": "tfdeepfake.evaluation.aggregation",
    "aggregate_tracks": "tfdeepfake.evaluation.aggregation",
    "ensemble": "tfdeepfake.evaluation.aggregation",
    "compute_metrics": "tfdeepfake.evaluation.metrics",
    "metrics_by_group": "tfdeepfake.evaluation.metrics",
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
