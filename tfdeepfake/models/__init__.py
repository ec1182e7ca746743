"""Pure Keras 3 detectors (keras.ops only), their presets and the preprocessing layer."""

from tfdeepfake.models import catalog  # noqa: F401  (registers the presets)
from tfdeepfake.models.preprocessing import FacePreprocessor, preprocessor_for
from tfdeepfake.models.presets import Preset, get_preset, list_models, register_preset
from tfdeepfake.models.registry import create_model

__all__ = [
    "FacePreprocessor",
    "Preset",
    "create_model",
    "get_preset",
    "list_models",
    "preprocessor_for",
    "register_preset",
]
