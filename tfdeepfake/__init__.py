"""tfdeepfake: deepfake video detection in Keras 3 / TensorFlow.

The public API is re-exported here and imported lazily, so ``import tfdeepfake`` is cheap
and TensorFlow is loaded only by what needs it.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# Public name -> module that defines it.
_EXPORTS = {
    "create_model": "tfdeepfake.models",
    "list_models": "tfdeepfake.models",
    "get_preset": "tfdeepfake.models",
    "Preset": "tfdeepfake.models",
    "FacePreprocessor": "tfdeepfake.models",
    "SSIM": "tfdeepfake.models.ssim",
    "Detector": "tfdeepfake.inference",
    "load_model": "tfdeepfake.weights.pretrained",
    "VideoResult": "tfdeepfake.inference",
    "read_video": "tfdeepfake.faces",
    "extract_faces": "tfdeepfake.faces",
    "crop_face": "tfdeepfake.faces",
    "MTCNNDetector": "tfdeepfake.faces",
    "ExtractionError": "tfdeepfake.faces",
    "extract_dataset": "tfdeepfake.faces.dataset",
    "make_fake_video": "tfdeepfake.faces.manipulate",
    "sample_path": "tfdeepfake.samples",
    "fetch_samples": "tfdeepfake.samples",
    "evaluate": "tfdeepfake.evaluation",
    "frame_dataset": "tfdeepfake.data",
    "clip_dataset": "tfdeepfake.data",
    "triplet_dataset": "tfdeepfake.data",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tfdeepfake' has no attribute {name!r}")
