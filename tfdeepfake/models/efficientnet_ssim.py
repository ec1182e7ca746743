"""EfficientNetSSIM: EfficientNet-B7 (the DFDC winner's detector) with an in-model SSIM branch.

``ssim_branch=False`` is exactly the DFDC winner's architecture (timm
``tf_efficientnet_b7_ns``: TF-"same" padding, drop-path 0.2, global average pool, Dense(1)).

With the branch, the model computes local SSIM maps (11x11 Gaussian window, sigma 1.5) between
the face and a reference: a down-then-up-sampled (smoothed) copy of the face itself, or, with
``paired=True``, a neighbouring frame's face given as a second input ``"reference"``. Both
images are un-normalised with the preset's mean/std first, so SSIM sees RGB in [0, 1]. A small
conv encoder (three stride-2 conv-BN-swish layers) turns the maps into

* a spatial sigmoid attention at stride 8 that multiplies the output of B7's stage 3
  (``block3g``: 80 channels, 48x48 at 380 px), so stages 4-7 see attended features; it is the
  model's ``"attention"`` output;
* a pooled vector (``ssim_filters`` channels) concatenated with B7's pooled 2560-d features
  before the logit.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from tfdeepfake.models.base import (
    ImageInputChecks,
    ImageSpec,
    check_model_kwargs,
    sublayers,
)
from tfdeepfake.models.efficientnet import (
    ATTENTION_STAGE,
    EfficientNetLayerNames,
    build_efficientnet,
    check_detector_args,
)
from tfdeepfake.models.presets import IMAGENET_MEAN, IMAGENET_STD
from tfdeepfake.models.ssim import SSIM

ENCODER_STRIDES = 3  # stride 2**3 = 8, the resolution of stage 3


@keras.saving.register_keras_serializable(package="tfdeepfake")
class Unnormalize(keras.layers.Layer):
    """Invert ``FacePreprocessor``'s ``(x - mean) / std``: back to RGB in [0, 1] (clipped)."""

    def __init__(self, mean=IMAGENET_MEAN, std=IMAGENET_STD, **kwargs):
        super().__init__(**kwargs)
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)

    def call(self, x):
        mean = ops.convert_to_tensor(self.mean, dtype=self.compute_dtype)
        std = ops.convert_to_tensor(self.std, dtype=self.compute_dtype)
        return ops.clip(ops.cast(x, self.compute_dtype) * std + mean, 0.0, 1.0)

    def get_config(self) -> dict:
        return {**super().get_config(), "mean": self.mean, "std": self.std}


@keras.saving.register_keras_serializable(package="tfdeepfake")
class DownUpSample(keras.layers.Layer):
    """A smoothed copy of an image: ``factor`` x ``factor`` box average down, bilinear back up.

    The box average is the antialiased down-sampling for an integer factor, written with ops
    that LiteRT also runs (an antialiased resize becomes ``ScaleAndTranslate``, which it
    does not).
    """

    def __init__(self, factor: int = 2, **kwargs):
        super().__init__(**kwargs)
        if int(factor) < 2:
            raise ValueError(f"factor must be an integer >= 2; got {factor}.")
        self.factor = int(factor)

    def call(self, x):
        height, width = x.shape[1], x.shape[2]
        x = ops.average_pool(x, self.factor, strides=self.factor, padding="same")
        return ops.image.resize(x, (height, width), interpolation="bilinear")

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor}


def ssim_encoder(maps, filters: int):
    """Three stride-2 conv-BN-swish layers (filters/4, filters/2, filters): stride 8."""
    x = maps
    for k in range(ENCODER_STRIDES):
        width = max(4, filters // 2 ** (ENCODER_STRIDES - 1 - k))
        x = layers.Conv2D(
            width, 3, strides=2, padding="same", use_bias=False, name=f"ssim_conv{k + 1}"
        )(x)
        x = layers.BatchNormalization(epsilon=1e-3, name=f"ssim_bn{k + 1}")(x)
        x = layers.Activation("swish", name=f"ssim_activation{k + 1}")(x)
    return x


@keras.saving.register_keras_serializable(package="tfdeepfake")
class EfficientNetSSIM(EfficientNetLayerNames, ImageInputChecks, keras.Model):
    """EfficientNet-B7 deepfake detector with an optional SSIM attention/feature branch.

    Inputs: normalised faces (N, input_size, input_size, 3) named ``"images"``; with
    ``paired=True`` a dict ``{"images": ..., "reference": ...}`` where ``reference`` is a
    neighbouring frame's face, normalised the same way. Outputs a dict: ``"logit"`` (N, 1),
    ``"features"`` (N, C) the pooled pre-head vector (2560 for B7, + ``ssim_filters`` with
    the branch) and, with the branch, ``"attention"`` (N, h, w, 1) in [0, 1], h = ceil(size/8).

    Args:
        width_coefficient, depth_coefficient: EfficientNet scaling (B7: 2.0, 3.1).
        input_size: the square input side in pixels (380 for B7).
        ssim_branch: add the SSIM branch; False gives the DFDC winner's model.
        paired: take a second input ``"reference"`` (needs ``ssim_branch``).
        mean, std: the normalisation the inputs carry (the preset's), undone before SSIM.
        ssim_filters: channels of the SSIM encoder's last layer and pooled vector.
        reference_scale: the down/up-sampling factor of the self reference.
        drop_connect_rate: the largest drop-path rate of the backbone (0.2 as in the winner).
        dropout: dropout before the logit (0.0 as in the winner).
        backbone_weights: None or ``"imagenet"`` (see ``tfdeepfake.models.imagenet``).
    """

    def __init__(
        self,
        width_coefficient: float = 2.0,
        depth_coefficient: float = 3.1,
        input_size: int = 380,
        ssim_branch: bool = True,
        paired: bool = False,
        mean: tuple[float, float, float] = IMAGENET_MEAN,
        std: tuple[float, float, float] = IMAGENET_STD,
        ssim_filters: int = 64,
        reference_scale: int = 2,
        drop_connect_rate: float = 0.2,
        dropout: float = 0.0,
        backbone_weights: str | None = None,
        **kwargs,
    ):
        check_model_kwargs(type(self), kwargs)
        if paired and not ssim_branch:
            raise ValueError("paired=True needs ssim_branch=True (the pair only feeds SSIM).")
        input_size = check_detector_args(input_size, dropout, backbone_weights)
        if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
            raise ValueError(f"mean and std need 3 values, std > 0; got {mean}, {std}.")
        kwargs.setdefault("name", "efficientnet_ssim" if ssim_branch else "efficientnet_b7")

        images = keras.Input((input_size, input_size, 3), name="images")
        inputs = images
        hooks = {}
        branch = {}
        if ssim_branch:
            face = Unnormalize(mean, std, name="unnormalize", dtype="float32")(images)
            if paired:
                reference = keras.Input((input_size, input_size, 3), name="reference")
                inputs = {"images": images, "reference": reference}
                other = Unnormalize(mean, std, name="unnormalize_reference", dtype="float32")(
                    reference
                )
            else:
                other = DownUpSample(reference_scale, name="self_reference", dtype="float32")(face)
            maps = SSIM(data_range=1.0, name="ssim", dtype="float32")([face, other])
            encoded = ssim_encoder(maps, int(ssim_filters))
            att = layers.Conv2D(1, 1, name="ssim_attention_conv")(encoded)
            branch["attention"] = layers.Activation("sigmoid", name="attention", dtype="float32")(
                att
            )
            branch["pooled"] = layers.GlobalAveragePooling2D(name="ssim_pool")(encoded)
            hooks[ATTENTION_STAGE] = lambda x: layers.Multiply(name="attention_multiply")(
                [x, branch["attention"]]
            )

        end_points = build_efficientnet(
            images,
            width_coefficient=width_coefficient,
            depth_coefficient=depth_coefficient,
            drop_connect_rate=drop_connect_rate,
            padding="keras",
            stage_hooks=hooks,
        )
        features = layers.GlobalAveragePooling2D(name="avg_pool")(end_points["top"])
        if ssim_branch:
            features = layers.Concatenate(name="fused_features")([features, branch["pooled"]])
        x = layers.Dropout(dropout, name="head_dropout")(features) if dropout > 0 else features
        outputs = {"logit": layers.Dense(1, name="logit")(x), "features": features}
        if ssim_branch:
            outputs["attention"] = branch["attention"]
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        self.width_coefficient = float(width_coefficient)
        self.depth_coefficient = float(depth_coefficient)
        self.input_size = int(input_size)
        self.ssim_branch = bool(ssim_branch)
        self.paired = bool(paired)
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)
        self.ssim_filters = int(ssim_filters)
        self.reference_scale = int(reference_scale)
        self.drop_connect_rate = float(drop_connect_rate)
        self.dropout = float(dropout)
        specs = [ImageSpec("images", self.input_size)]
        if self.paired:
            specs.append(ImageSpec("reference", self.input_size))
        self.image_specs = tuple(specs)
        if backbone_weights == "imagenet":
            from tfdeepfake.models.imagenet import load_imagenet_backbone

            load_imagenet_backbone(self)

    def float_layers(self) -> tuple[str, ...]:
        """The SSIM branch's layers (SSIM, un-normalising, self-reference): its division of
        near-zero int8 values fails in LiteRT, so they stay float32 in int8 exports."""
        branch = (SSIM, Unnormalize, DownUpSample)
        return tuple(layer.name for layer in sublayers(self) if isinstance(layer, branch))

    def get_config(self) -> dict:
        # backbone_weights is not saved: a saved model carries its own weights.
        return {
            "name": self.name,
            "trainable": self.trainable,
            "width_coefficient": self.width_coefficient,
            "depth_coefficient": self.depth_coefficient,
            "input_size": self.input_size,
            "ssim_branch": self.ssim_branch,
            "paired": self.paired,
            "mean": self.mean,
            "std": self.std,
            "ssim_filters": self.ssim_filters,
            "reference_scale": self.reference_scale,
            "drop_connect_rate": self.drop_connect_rate,
            "dropout": self.dropout,
        }

    @classmethod
    def from_config(cls, config: dict) -> EfficientNetSSIM:
        return cls(**config)
