"""When to run explanations through a traced function rather than eagerly."""

from __future__ import annotations

from typing import Any

import keras

from tfdeepfake.models.base import sublayers

# Below this many parameters an eager call beats paying for a trace (tiny test models);
# above it a trace pays off after a few faces (full-size B4: 26 s trace, then ~15x faster).
COMPILE_MIN_PARAMS = 5_000_000


def should_compile(model: Any, compiled: bool | None) -> bool:
    """``compiled`` when given, else True for models of at least ``COMPILE_MIN_PARAMS`` and
    for models with grouped convolutions, whatever their size.

    Keras runs a grouped convolution's gradient (Grad-CAM's) through a ``tf.function`` it
    creates anew on every eager call (its XLA workaround, see ``tfdeepfake.tf_backend``):
    eagerly, every face retraces it, slowly and with TensorFlow's retracing warnings. Traced
    once, the model builds those functions once.
    """
    if compiled is not None:
        return bool(compiled)
    if has_grouped_convolutions(model):
        return True
    count = getattr(model, "count_params", None)
    return bool(count) and count() >= COMPILE_MIN_PARAMS


def has_grouped_convolutions(model: Any) -> bool:
    """True when a layer of ``model`` (nested ones included) is a convolution with groups."""
    return isinstance(model, keras.Model) and any(
        getattr(layer, "groups", 1) > 1 for layer in sublayers(model)
    )
