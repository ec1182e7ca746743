"""The preprocessing layer that sits outside every backbone (one normalisation, never two)."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="tfdeepfake")
class FacePreprocessor(keras.layers.Layer):
    """Map RGB face crops with values in [0, 255] (uint8 or float) to normalised float32.

    ``out = (x / 255 - mean) / std``, optionally after a bilinear resize to ``size``.
    Works on (N, H, W, 3) and (N, T, H, W, 3).

    Args:
        mean, std: per-channel statistics of RGB in [0, 1] (ImageNet by default).
        size: optional output side in pixels.
    """

    def __init__(self, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), size=None, **kw):
        super().__init__(**kw)
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)
        self.size = None if size is None else int(size)

    def call(self, images):
        x = ops.cast(images, "float32")
        if self.size is not None:
            shape = ops.shape(x)
            flat = ops.reshape(x, (-1, shape[-3], shape[-2], shape[-1]))
            flat = ops.image.resize(flat, (self.size, self.size), interpolation="bilinear")
            x = ops.reshape(flat, (*shape[:-3], self.size, self.size, shape[-1]))
        return normalise_pixels(x, self.mean, self.std)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "std": self.std, "size": self.size}


def normalise_pixels(x, mean, std, max_value: float = 255.0):
    """``(x / max_value - mean) / std`` in ``keras.ops``: the one normalisation every model
    input gets (here, in the compiled detect path and in device augmentation)."""
    mean = ops.convert_to_tensor(np.asarray(mean, np.float32))
    std = ops.convert_to_tensor(np.asarray(std, np.float32))
    return (x / max_value - mean) / std


def preprocessor_for(preset, resize: bool = False) -> FacePreprocessor:
    """The preprocessing layer of a preset, or of a preset's name (optionally resizing to
    its input size)."""
    from tfdeepfake.models.presets import get_preset

    preset = get_preset(preset)
    return FacePreprocessor(preset.mean, preset.std, preset.input_size if resize else None)
