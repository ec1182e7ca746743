"""ResNet50 and ResNeXt50_32x4d feature extractors written with keras.layers only.

Layer names follow ``keras.applications.ResNet50`` (``conv1_conv``, ``conv2_block1_1_conv``,
..., ``conv5_block3_out``), so ImageNet weights of Keras' ResNet50 copy over by name.

- ``resnet50`` is Keras' ResNet50 (v1: the stride sits in the first 1x1 conv, convs have a
  bias), the architecture of Keras' ImageNet weights.
- ``resnext50_32x4d`` is torchvision's ResNeXt50_32x4d (the ResNeXt-LSTM reference's
  backbone): bottleneck width ``2 * filters`` split into 32 groups of 4 channels, stride in
  the grouped 3x3 conv with symmetric padding 1, no conv bias. Keras has no ImageNet
  weights for it; ``tfdeepfake weights import`` converts the reference's PyTorch weights.

No input normalisation happens here: the preset's ``FacePreprocessor`` does it once.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import keras
from keras import layers

VARIANTS = ("resnet50", "resnext50_32x4d")
BN_EPSILON = 1.001e-5

_KERAS_WEIGHTS_FILE = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
_KERAS_WEIGHTS_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/resnet/" + _KERAS_WEIGHTS_FILE
)
_KERAS_WEIGHTS_HASH = "4d473c1dd8becc155b73f8504c6f6626"


@keras.saving.register_keras_serializable(package="tfdeepfake")
class GroupedConv2D(layers.Conv2D):
    """``Conv2D`` with ``groups > 1`` that runs on TensorFlow's native grouped kernel when
    the TensorFlow backend has one (10x faster than Keras' XLA path on CPU; see
    ``tfdeepfake.tf_backend``), and exactly as ``Conv2D`` everywhere else."""

    def convolution_op(self, inputs, kernel):
        if (
            self.groups > 1
            and self.data_format == "channels_last"
            and keras.backend.backend() == "tensorflow"
        ):
            from tfdeepfake import tf_backend

            if tf_backend.native_grouped_conv_available():
                return tf_backend.grouped_conv2d(
                    inputs, kernel, self.strides, self.padding, self.dilation_rate
                )
        return super().convolution_op(inputs, kernel)


def validate_resnet_args(
    variant: str, block_counts: Sequence[int], base_width: int, cardinality: int, group_width: int
) -> tuple[int, int, int, int]:
    """Check the builder arguments up front; return ``block_counts`` as a 4-tuple of ints."""
    if variant not in VARIANTS:
        raise ValueError(f"Unknown backbone {variant!r}; expected one of {VARIANTS}.")
    counts = tuple(int(c) for c in block_counts)
    if len(counts) != 4 or min(counts) < 1:
        raise ValueError(
            "block_counts must be 4 positive integers (ResNet50: (3, 4, 6, 3)); "
            f"got {block_counts}."
        )
    if int(base_width) < 1:
        raise ValueError(f"base_width must be a positive integer (ResNet50: 64); got {base_width}.")
    if variant == "resnext50_32x4d":
        for stage in range(4):
            width, groups = _grouped_width(base_width, stage, cardinality, group_width)
            if width % groups:
                raise ValueError(
                    f"base_width={base_width} gives a grouped conv of {width} channels in stage "
                    f"{stage + 2} that {groups} groups cannot split; use a multiple of 8."
                )
    return counts  # type: ignore[return-value]


def _grouped_width(base_width: int, stage: int, cardinality: int, group_width: int):
    """Width of a ResNeXt stage's grouped conv and its group count.

    Full size (base_width 64): 128, 256, 512, 1024 channels in 32 groups of 4. Narrower tiny
    configurations keep 4 channels per group and use fewer groups.
    """
    filters = base_width * 2**stage
    width = filters * cardinality * group_width // 64
    groups = max(1, min(cardinality, width // group_width))
    return width, groups


def _bn(x, name: str):
    return layers.BatchNormalization(axis=-1, epsilon=BN_EPSILON, name=name)(x)


def _resnet_block(x, filters: int, stride: int, shortcut_conv: bool, name: str):
    """Keras ResNet50 bottleneck (v1): stride in the first 1x1 conv, biased convs."""
    shortcut = x
    if shortcut_conv:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = _bn(shortcut, f"{name}_0_bn")
    x = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(_bn(x, f"{name}_1_bn"))
    x = layers.Conv2D(filters, 3, padding="same", name=f"{name}_2_conv")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(_bn(x, f"{name}_2_bn"))
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    x = _bn(x, f"{name}_3_bn")
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def _resnext_block(x, filters, width, groups, stride, shortcut_conv, name):
    """torchvision ResNeXt bottleneck: 1x1 -> grouped 3x3 (stride, pad 1) -> 1x1, no bias."""
    shortcut = x
    if shortcut_conv:
        shortcut = layers.Conv2D(
            4 * filters, 1, strides=stride, use_bias=False, name=f"{name}_0_conv"
        )(x)
        shortcut = _bn(shortcut, f"{name}_0_bn")
    x = layers.Conv2D(width, 1, use_bias=False, name=f"{name}_1_conv")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(_bn(x, f"{name}_1_bn"))
    x = layers.ZeroPadding2D(1, name=f"{name}_2_pad")(x)
    x = GroupedConv2D(
        width, 3, strides=stride, groups=groups, use_bias=False, name=f"{name}_2_conv"
    )(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(_bn(x, f"{name}_2_bn"))
    x = layers.Conv2D(4 * filters, 1, use_bias=False, name=f"{name}_3_conv")(x)
    x = _bn(x, f"{name}_3_bn")
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def resnet_features(
    x,
    variant: str = "resnet50",
    block_counts: Sequence[int] = (3, 4, 6, 3),
    base_width: int = 64,
    cardinality: int = 32,
    group_width: int = 4,
):
    """Apply the backbone's layers to the (N, H, W, 3) tensor ``x``; return the last feature map.

    The returned tensor is the output of layer ``feature_map_layer_name(block_counts)``
    (N, H/32, W/32, 32 * base_width): 2048 channels at full size.
    """
    counts = validate_resnet_args(variant, block_counts, base_width, cardinality, group_width)
    resnext = variant == "resnext50_32x4d"
    x = layers.ZeroPadding2D(3, name="conv1_pad")(x)
    x = layers.Conv2D(base_width, 7, strides=2, use_bias=not resnext, name="conv1_conv")(x)
    x = layers.Activation("relu", name="conv1_relu")(_bn(x, "conv1_bn"))
    x = layers.ZeroPadding2D(1, name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for stage, count in enumerate(counts):
        filters = base_width * 2**stage
        width, groups = _grouped_width(base_width, stage, cardinality, group_width)
        for block in range(count):
            name = f"conv{stage + 2}_block{block + 1}"
            stride = 2 if (block == 0 and stage > 0) else 1
            if resnext:
                x = _resnext_block(x, filters, width, groups, stride, block == 0, name)
            else:
                x = _resnet_block(x, filters, stride, block == 0, name)
    return x


def feature_map_layer_name(block_counts: Sequence[int] = (3, 4, 6, 3)) -> str:
    """Name of the layer that outputs the last conv feature map (the Grad-CAM target)."""
    return f"conv5_block{int(block_counts[-1])}_out"


def build_resnet(
    variant: str = "resnet50",
    input_shape: tuple = (None, None, 3),
    block_counts: Sequence[int] = (3, 4, 6, 3),
    base_width: int = 64,
    cardinality: int = 32,
    group_width: int = 4,
    name: str | None = None,
) -> keras.Model:
    """A functional model from images (N, H, W, 3) to the last feature map; no pooling.

    Example:
        >>> backbone = build_resnet("resnext50_32x4d", (112, 112, 3))
        >>> backbone.output.shape
        (None, 4, 4, 2048)
    """
    images = keras.Input(input_shape, name="images")
    features = resnet_features(images, variant, block_counts, base_width, cardinality, group_width)
    model = keras.Model(images, features, name=name or variant)
    model.feature_map_layer = feature_map_layer_name(block_counts)
    return model


def keras_resnet50_weights_path() -> str:
    """Local path of Keras' ImageNet ResNet50 (no top) weights, downloading them if needed.

    Uses Keras' own download and cache (``~/.keras/models`` or ``$KERAS_HOME/models``).
    Offline, raises a ``RuntimeError`` that names the file and where to put it.
    """
    try:
        return keras.utils.get_file(
            _KERAS_WEIGHTS_FILE,
            _KERAS_WEIGHTS_URL,
            cache_subdir="models",
            file_hash=_KERAS_WEIGHTS_HASH,
        )
    except Exception as err:
        raise RuntimeError(
            f"Could not get Keras' ImageNet ResNet50 weights ({err}). Download "
            f"{_KERAS_WEIGHTS_URL} on a machine that is online and put it at "
            f"~/.keras/models/{_KERAS_WEIGHTS_FILE} (or $KERAS_HOME/models/), or pass "
            "backbone_weights=None for random initialisation."
        ) from err


def check_backbone_weights(variant: str, weights: str | os.PathLike) -> None:
    """Refuse backbone weights that cannot load, before a model is built: any for ResNeXt,
    a path that is no file, or a value that is neither a path nor ``"imagenet"``."""
    if variant != "resnet50":
        raise ValueError(
            f"Keras has no ImageNet weights for {variant!r}. Convert the reference's PyTorch "
            "weights with `tfdeepfake weights import` and load them with model.load_weights(), "
            "or use backbone='resnet50' with backbone_weights='imagenet'."
        )
    if weights == "imagenet":
        return
    accepted = (
        "Pass 'imagenet', None (random initialisation) or the path of a weights file of "
        "keras.applications.ResNet50(include_top=False)."
    )
    if not isinstance(weights, (str, os.PathLike)):
        raise ValueError(
            f"backbone_weights must be None, 'imagenet' or a path; got {weights!r}. " + accepted
        )
    if not os.path.isfile(weights):
        raise FileNotFoundError(
            f"backbone_weights file {str(weights)!r} does not exist. " + accepted
        )


def load_backbone_weights(model: keras.Model, variant: str, weights: str | os.PathLike) -> int:
    """Copy ImageNet backbone weights into ``model``'s layers by name; return layers copied.

    ``weights`` is ``"imagenet"`` (Keras' ResNet50 weights, resnet50 only) or a path to a weights
    file of ``keras.applications.ResNet50(include_top=False)``. Every backbone layer of
    ``model`` must find its counterpart with the same shapes (full-size ResNet50 only).
    """
    check_backbone_weights(variant, weights)
    path = keras_resnet50_weights_path() if weights == "imagenet" else weights
    source = keras.applications.ResNet50(include_top=False, weights=path)
    copied = 0
    for layer in source.layers:
        values = layer.get_weights()
        if not values:
            continue
        try:
            target = model.get_layer(layer.name)
        except ValueError:
            raise ValueError(
                f"Backbone layer {layer.name!r} of Keras' ResNet50 is missing from "
                f"{model.name!r}; ImageNet weights need the full-size backbone "
                "(block_counts=(3, 4, 6, 3), base_width=64)."
            ) from None
        shapes = [tuple(w.shape) for w in target.weights]
        if shapes != [v.shape for v in values]:
            raise ValueError(
                f"Layer {layer.name!r}: weight shapes {shapes} differ from Keras' ResNet50 "
                f"{[v.shape for v in values]}; ImageNet weights need the full-size backbone."
            )
        target.set_weights(values)
        copied += 1
    return copied
