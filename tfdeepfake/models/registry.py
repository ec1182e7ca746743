"""`create_model`: build a Keras model from a named preset."""

from __future__ import annotations

from typing import Any

import keras

from tfdeepfake.models.presets import Preset, get_preset


def create_model(name: str | Preset, **overrides: Any) -> keras.Model:
    """Build the model of preset ``name``; ``overrides`` replace contract fields or config keys.

    Example:
        >>> model = create_model("autoatt_b4_tiny")
        >>> model.preset.input_size
        32
    """
    preset = name if isinstance(name, Preset) else get_preset(name)
    preset = preset.with_overrides(**overrides)
    model = preset.model_class(**preset.config)
    model.preset = preset
    return model
