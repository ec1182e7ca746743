"""ImageNet initialisation of the EfficientNet backbones from keras.applications' weights.

``load_imagenet_backbone(model)`` builds ``keras.applications.EfficientNetB<k>(include_top=False,
weights="imagenet")`` through Keras' own download path (the file is fetched once from Keras'
storage bucket and cached in ``$KERAS_HOME/models``, by default ``~/.keras/models``), then copies
the weights into the detector layer by layer, by name (the backbone uses keras.applications'
layer names), and checks that every backbone layer received weights. Keras' Rescaling and
Normalization layers are not copied: the preset's ``FacePreprocessor`` computes the
``(x / 255 - mean) / std`` input those weights expect.

Offline, the download fails with an ``ImageNetWeightsUnavailable`` error that names the file,
the URL Keras uses and the folder to put it in.
"""

from __future__ import annotations

import os

import keras

from tfdeepfake.models.efficientnet import is_backbone_layer

KERAS_WEIGHTS_URL = "https://storage.googleapis.com/keras-applications/"

# (width, depth) -> keras.applications variant.
VARIANTS = {
    (1.0, 1.0): "b0",
    (1.0, 1.1): "b1",
    (1.1, 1.2): "b2",
    (1.2, 1.4): "b3",
    (1.4, 1.8): "b4",
    (1.6, 2.2): "b5",
    (1.8, 2.6): "b6",
    (2.0, 3.1): "b7",
}


class ImageNetWeightsUnavailable(RuntimeError):
    """Keras' ImageNet weight file could not be downloaded or read."""


def weights_file_name(variant: str) -> str:
    """File name Keras uses for the no-top weights, e.g. ``efficientnetb4_notop.h5``."""
    return f"efficientnet{variant}_notop.h5"


def keras_cache_dir() -> str:
    """Where Keras caches downloaded model files (``$KERAS_HOME/models``, else ~/.keras/models)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "models")


def variant_for(width_coefficient: float, depth_coefficient: float) -> str:
    """The keras.applications variant (``"b0"``..``"b7"``) with these coefficients."""
    key = (round(float(width_coefficient), 3), round(float(depth_coefficient), 3))
    if key not in VARIANTS:
        known = ", ".join(f"{v.upper()} {w}/{d}" for (w, d), v in VARIANTS.items())
        raise ValueError(
            f"ImageNet weights exist only for EfficientNet B0-B7; got width/depth coefficients "
            f"{key[0]}/{key[1]}. Known: {known}. Use backbone_weights=None for other sizes "
            "(the tiny presets)."
        )
    return VARIANTS[key]


def imagenet_efficientnet(variant: str, input_size: int = 224) -> keras.Model:
    """``keras.applications.EfficientNet<variant>(include_top=False, weights="imagenet")``.

    Raises ``ImageNetWeightsUnavailable`` naming the file, URL and cache folder when Keras
    cannot fetch the weights (no network).
    """
    builder = getattr(keras.applications, f"EfficientNet{variant.upper()}")
    name = weights_file_name(variant)
    try:
        # The download keras.applications makes (same file name, URL and cache folder), done
        # first so that an offline machine fails fast, before a full model is built.
        keras.utils.get_file(name, KERAS_WEIGHTS_URL + name, cache_subdir="models")
    except Exception as error:  # Keras raises a bare Exception for URL failures.
        if not isinstance(error, OSError) and "URL fetch failure" not in str(error):
            raise
        raise ImageNetWeightsUnavailable(
            f"Could not get the ImageNet weights {name} ({error}). Keras downloads them from "
            f"{KERAS_WEIGHTS_URL}{name} into {keras_cache_dir()}. On a machine without network, "
            f"download that URL elsewhere and copy the file to "
            f"{os.path.join(keras_cache_dir(), name)} (or set KERAS_HOME to a folder whose "
            "models/ sub-folder holds it), or build the model with backbone_weights=None."
        ) from error
    return builder(include_top=False, weights="imagenet", input_shape=(input_size, input_size, 3))


def copy_backbone_weights(source: keras.Model, target: keras.Model) -> list[str]:
    """Copy weights from ``source`` into the layers of ``target`` with the same names.

    Every weighted layer of ``source`` except its Normalization must exist in ``target`` with
    the same weight shapes, and every backbone layer of ``target`` (stem, blocks, top) must be
    covered. Returns the copied layer names.
    """
    targets = {layer.name: layer for layer in target.layers if layer.weights}
    copied, problems = [], []
    for layer in source.layers:
        if not layer.weights or isinstance(layer, keras.layers.Normalization):
            continue
        dest = targets.get(layer.name)
        if dest is None:
            problems.append(f"{layer.name}: not in {target.name}")
            continue
        values = layer.get_weights()
        shapes = [tuple(w.shape) for w in dest.weights]
        if [v.shape for v in values] != shapes:
            problems.append(f"{layer.name}: shapes {[v.shape for v in values]} != {shapes}")
            continue
        dest.set_weights(values)
        copied.append(layer.name)
    missing = sorted(n for n in targets if is_backbone_layer(n) and n not in set(copied))
    if missing:
        problems.append(f"backbone layers without weights: {missing}")
    if problems:
        raise ValueError(
            f"Cannot copy {source.name} weights into {target.name}: " + "; ".join(problems)
        )
    return copied


def load_imagenet_backbone(model: keras.Model) -> list[str]:
    """Initialise an EfficientNet detector's backbone from Keras' ImageNet weights."""
    variant = variant_for(model.width_coefficient, model.depth_coefficient)
    source = imagenet_efficientnet(variant, model.input_size)
    return copy_backbone_weights(source, model)
