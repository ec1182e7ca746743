"""Export for serving: SavedModels for TF Serving, TFLite (LiteRT) files, ``.keras`` files.

Imported lazily: ``from tfdeepfake.export import TFLiteDetector`` does not load TensorFlow.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "export_saved_model": "tfdeepfake.export.saved_model",
    "next_version": "tfdeepfake.export.saved_model",
    "read_metadata": "tfdeepfake.export.saved_model",
    "export_tflite": "tfdeepfake.export.tflite",
    "export_keras": "tfdeepfake.export.loading",
    "load_for_export": "tfdeepfake.export.loading",
    "load_faces": "tfdeepfake.export.calibration",
    "parity_report": "tfdeepfake.export.parity",
    "TFLiteDetector": "tfdeepfake.export.runtime",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tfdeepfake.export' has no attribute {name!r}")
