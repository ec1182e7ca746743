"""EfficientNetAutoAtt: EfficientNet-B4 with the icpr2020dfdc 1x1-conv sigmoid attention.

The attention map ``sigmoid(attention_conv(x))`` is computed from the output of the last
block of stage 3 (``block3d`` in B4: 56 channels, 28x28 at 224 px) and multiplies those
features, so every later block sees the attended tensor. ``attention=False`` gives the plain
EfficientNet detector. Heads: ``"dropout"`` (GAP -> Dropout -> Dense(1)) or ``"bn_dense"``
(GAP -> BatchNorm -> Dense(1), the triplet-trained "ST" variant).
"""

from __future__ import annotations

import keras
from keras import layers

from tfdeepfake.models.base import ImageInputChecks, ImageSpec, check_model_kwargs
from tfdeepfake.models.efficientnet import (
    ATTENTION_STAGE,
    EfficientNetLayerNames,
    build_efficientnet,
    check_detector_args,
    check_padding,
)

HEADS = ("dropout", "bn_dense")


def dense_head(features, head: str, dropout: float):
    """The logit head on pooled features: Dropout or BatchNorm, then Dense(1) named "logit"."""
    if head == "dropout":
        x = layers.Dropout(dropout, name="head_dropout")(features) if dropout > 0 else features
    else:
        x = layers.BatchNormalization(epsilon=1e-5, momentum=0.9, name="head_bn")(features)
    return layers.Dense(1, name="logit")(x)


@keras.saving.register_keras_serializable(package="tfdeepfake")
class EfficientNetAutoAtt(EfficientNetLayerNames, ImageInputChecks, keras.Model):
    """EfficientNet-B4 deepfake detector with optional attention after stage 3 (AutoAttB4).

    Takes normalised faces (N, input_size, input_size, 3) (the preset's ``FacePreprocessor``
    output) and returns a dict: ``"logit"`` (N, 1), ``"features"`` (N, C) the pooled
    pre-head vector (C = 1792 for B4) and, when ``attention=True``, ``"attention"``
    (N, h, w, 1) in [0, 1] (h = w = input_size / 8).

    Args:
        width_coefficient, depth_coefficient: EfficientNet scaling (B4: 1.4, 1.8).
        input_size: the square input side in pixels.
        attention: add the 1x1-conv sigmoid attention after the last block of stage 3.
        head: ``"dropout"`` or ``"bn_dense"``.
        dropout: dropout rate of the ``"dropout"`` head.
        drop_connect_rate: the largest drop-connect rate of the backbone blocks.
        padding: ``"keras"`` (TF "same" for the actual size), ``"pytorch_0.6"`` or
            ``"pytorch_0.7"`` (efficientnet-pytorch's static paddings for
            ``reference_size``; see ``tfdeepfake.models.efficientnet``).
        reference_size: the global image side the ``pytorch_*`` paddings are computed for.
        backbone_weights: None (random) or ``"imagenet"`` (Keras' EfficientNet weights,
            downloaded once into ``~/.keras/models``; see ``tfdeepfake.models.imagenet``).

    Example:
        >>> model = EfficientNetAutoAtt(0.25, 0.1, input_size=32)
        >>> out = model(keras.random.normal((2, 32, 32, 3)))
        >>> out["logit"].shape, out["attention"].shape
        ((2, 1), (2, 4, 4, 1))
    """

    def __init__(
        self,
        width_coefficient: float = 1.4,
        depth_coefficient: float = 1.8,
        input_size: int = 224,
        attention: bool = True,
        head: str = "dropout",
        dropout: float = 0.4,
        drop_connect_rate: float = 0.2,
        padding: str = "keras",
        reference_size: int = 380,
        backbone_weights: str | None = None,
        **kwargs,
    ):
        check_model_kwargs(type(self), kwargs)
        if head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}; got {head!r}.")
        padding = check_padding(padding)
        input_size = check_detector_args(input_size, dropout, backbone_weights)
        kwargs.setdefault("name", "efficientnet_autoatt" if attention else "efficientnet")

        images = keras.Input((input_size, input_size, 3), name="images")
        attention_maps = []

        def attend(x):
            logits = layers.Conv2D(1, 1, use_bias=True, name="attention_conv")(x)
            att = layers.Activation("sigmoid", name="attention", dtype="float32")(logits)
            attention_maps.append(att)
            return layers.Multiply(name="attention_multiply")([x, att])

        end_points = build_efficientnet(
            images,
            width_coefficient=width_coefficient,
            depth_coefficient=depth_coefficient,
            drop_connect_rate=drop_connect_rate,
            padding=padding,
            reference_size=reference_size,
            stage_hooks={ATTENTION_STAGE: attend} if attention else None,
        )
        features = layers.GlobalAveragePooling2D(name="avg_pool")(end_points["top"])
        outputs = {"logit": dense_head(features, head, dropout), "features": features}
        if attention:
            outputs["attention"] = attention_maps[0]
        super().__init__(inputs=images, outputs=outputs, **kwargs)

        self.width_coefficient = float(width_coefficient)
        self.depth_coefficient = float(depth_coefficient)
        self.input_size = int(input_size)
        self.attention = bool(attention)
        self.head = head
        self.dropout = float(dropout)
        self.drop_connect_rate = float(drop_connect_rate)
        self.padding = padding
        self.reference_size = int(reference_size)
        self.image_specs = (ImageSpec("images", self.input_size),)
        if backbone_weights == "imagenet":
            from tfdeepfake.models.imagenet import load_imagenet_backbone

            load_imagenet_backbone(self)

    def get_config(self) -> dict:
        # backbone_weights is not saved: a saved model carries its own weights.
        return {
            "name": self.name,
            "trainable": self.trainable,
            "width_coefficient": self.width_coefficient,
            "depth_coefficient": self.depth_coefficient,
            "input_size": self.input_size,
            "attention": self.attention,
            "head": self.head,
            "dropout": self.dropout,
            "drop_connect_rate": self.drop_connect_rate,
            "padding": self.padding,
            "reference_size": self.reference_size,
        }

    @classmethod
    def from_config(cls, config: dict) -> EfficientNetAutoAtt:
        return cls(**config)
