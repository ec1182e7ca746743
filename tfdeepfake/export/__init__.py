"""Export for serving: SavedModels for TF Serving, TFLite (LiteRT) files, ``.keras`` files.

Imported lazily: ``from tfdeepfake.export import LiteRTRunner`` does not load TensorFlow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tfdeepfake._lazy import lazy_exports

if TYPE_CHECKING:
    from tfdeepfake.export.calibration import load_faces
    from tfdeepfake.export.caps import ServingCaps
    from tfdeepfake.export.loading import export_keras, load_for_export
    from tfdeepfake.export.parity import parity_report
    from tfdeepfake.export.runtime import LiteRTRunner
    from tfdeepfake.export.saved_model import export_saved_model, next_version, read_metadata
    from tfdeepfake.export.tflite import export_tflite

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
