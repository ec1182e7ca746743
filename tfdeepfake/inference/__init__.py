"""Inference: `Detector` (videos/images -> verdicts), its results, outputs and reports."""

from tfdeepfake.inference.detector import Detector, expand_inputs
from tfdeepfake.inference.models import LoadedModel, MissingWeightsError, load_models
from tfdeepfake.inference.results import TrackResult, VideoResult

__all__ = [
    "Detector",
    "LoadedModel",
    "MissingWeightsError",
    "TrackResult",
    "VideoResult",
    "expand_inputs",
    "load_models",
]
