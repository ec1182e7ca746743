"""Pure Keras 3 detectors (keras.ops only), their presets and the preprocessing layer."""

# Importing the model classes registers them with Keras, so keras.saving.load_model() finds them.
from tfdeepfake.models import catalog  # noqa: F401  (registers the presets)
from tfdeepfake.models.clip_vit import GenDDetector
from tfdeepfake.models.efficientnet_autoatt import EfficientNetAutoAtt
from tfdeepfake.models.efficientnet_ssim import EfficientNetSSIM
from tfdeepfake.models.ensemble import DeepfakeEnsemble
from tfdeepfake.models.preprocessing import FacePreprocessor, preprocessor_for
from tfdeepfake.models.presets import Preset, get_preset, list_models, register_preset
from tfdeepfake.models.registry import create_model
from tfdeepfake.models.resnet_lstm import ResNetLSTM

__all__ = [
    "DeepfakeEnsemble",
    "EfficientNetAutoAtt",
    "EfficientNetSSIM",
    "FacePreprocessor",
    "GenDDetector",
    "Preset",
    "create_model",
    "get_preset",
    "list_models",
    "preprocessor_for",
    "register_preset",
    "ResNetLSTM",
]
