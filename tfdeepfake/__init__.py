"""tfdeepfake: deepfake video detection in Keras 3 / TensorFlow.

The public API is re-exported here and imported lazily, so ``import tfdeepfake`` is cheap
and TensorFlow is loaded only by what needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tfdeepfake._lazy import lazy_exports
from tfdeepfake.version import __version__

if TYPE_CHECKING:
    from tfdeepfake.data import clip_dataset, frame_dataset, triplet_dataset
    from tfdeepfake.evaluation import evaluate
    from tfdeepfake.faces import (
        ExtractionError,
        MTCNNFaceFinder,
        crop_face,
        extract_faces,
        read_video,
    )
    from tfdeepfake.faces.dataset import extract_dataset
    from tfdeepfake.faces.manipulate import make_fake_video
    from tfdeepfake.inference import Detector, VideoResult
    from tfdeepfake.models import FacePreprocessor, Preset, create_model, get_preset, list_models
    from tfdeepfake.models.ssim import SSIM
    from tfdeepfake.samples import fetch_samples, sample_path
    from tfdeepfake.weights.pretrained import load_model

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
__all__ = ["__version__", *__all__]
