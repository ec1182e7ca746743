"""An EfficientNet backbone built from keras.layers, named exactly like keras.applications.

``build_efficientnet`` adds the stem, the 7 stages of MBConv blocks and the top conv to a
functional graph and returns the named end points (the end of every stage and the top), so
a detector can read or replace mid-level features (the AutoAtt attention after stage 3, the
SSIM attention). Every layer carries the name ``keras.applications.EfficientNetB*`` gives it
(``stem_conv``, ``block1a_dwconv``, ``block2a_expand_conv``, ..., ``top_conv``, ``top_bn``),
so ImageNet weights transfer layer by layer (``tfdeepfake.models.imagenet``). There is no
Rescaling/Normalization layer inside: the preset's ``FacePreprocessor`` is the only
normalisation.

Padding of the stride-2 convolutions:

* ``"keras"``: TensorFlow "same" padding for the actual input size (what Keras and timm's
  ``tf_efficientnet_*`` do).
* ``"pytorch_0.6"``: efficientnet-pytorch <= 0.6.3's static "same" padding: every
  convolution padded as if its input were ``reference_size`` (the model's global image size,
  380 for B4) pixels. Wherever every stride-2 input side is even (224 px for B4) this equals
  ``"keras"``. icpr2020dfdc trained and published its weights with 0.6.3.
* ``"pytorch_0.7"``: efficientnet-pytorch 0.7.x's static padding, computed per stage from
  ``reference_size`` (each stage's side at the global image size). At 224 px this differs
  in one layer of B4 (``block3a_dwconv`` pads (2, 2) on each axis instead of (1, 2)); it is
  what icpr2020dfdc's notebooks compute when re-run with a current install
  (efficientnet-pytorch issue #262). ``"reference"`` is its former name, still read.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import keras
from keras import layers

from tfdeepfake.models.presets import check_input_size

PADDINGS = ("keras", "pytorch_0.6", "pytorch_0.7")
# Former names still found in preset.json files written by earlier imports.
PADDING_ALIASES = {"reference": "pytorch_0.7"}
BN_EPSILON = 1e-3
ACTIVATION = "swish"


def conv_init() -> keras.initializers.Initializer:
    """EfficientNet's convolution initializer, a new one per layer.

    Built when the layer is, so its seed comes from ``keras.utils.set_random_seed``: one
    shared instance made at import drew its seed from the unseeded process (the same seed
    gave other initial weights in every process) and gave same-shaped kernels equal values.
    """
    return keras.initializers.VarianceScaling(2.0, "fan_out", "truncated_normal")


# The EfficientNet-B0 stages: (kernel, repeats, filters_in, filters_out, expand, stride).
B0_STAGES = (
    (3, 1, 32, 16, 1, 1),
    (3, 2, 16, 24, 6, 2),
    (5, 2, 24, 40, 6, 2),
    (3, 3, 40, 80, 6, 2),
    (5, 3, 80, 112, 6, 1),
    (5, 4, 112, 192, 6, 2),
    (3, 1, 192, 320, 6, 1),
)
SE_RATIO = 0.25
STAGE_STRIDES = (2, 4, 8, 16, 16, 32, 32)
FEATURE_MAP_LAYER = "top_activation"  # the last conv feature map: the Grad-CAM target
ATTENTION_STAGE = 3  # both EfficientNet detectors attend to the output of stage 3


def round_filters(filters: int, width_coefficient: float, divisor: int = 8) -> int:
    """Scale a channel count by the width coefficient, rounded to a multiple of ``divisor``."""
    filters *= width_coefficient
    rounded = max(divisor, int(filters + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * filters:
        rounded += divisor
    return int(rounded)


def round_repeats(repeats: int, depth_coefficient: float) -> int:
    """Scale a stage's block count by the depth coefficient (rounded up)."""
    return int(math.ceil(depth_coefficient * repeats))


def stage_block_names(depth_coefficient: float) -> list[list[str]]:
    """Block name prefixes per stage, e.g. ``[["block1a", "block1b"], ...]`` for B4."""
    return [
        [f"block{i + 1}{chr(97 + j)}" for j in range(round_repeats(stage[1], depth_coefficient))]
        for i, stage in enumerate(B0_STAGES)
    ]


def check_detector_args(input_size: int, dropout: float, backbone_weights: str | None) -> int:
    """The argument checks both EfficientNet detectors make, each with a clear error; returns
    ``input_size`` as an int."""
    input_size = check_input_size(input_size, minimum=16)
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1); got {dropout}.")
    if backbone_weights not in (None, "imagenet"):
        raise ValueError(
            f"backbone_weights must be None or 'imagenet'; got {backbone_weights!r}."
        )
    return input_size


class EfficientNetLayerNames:
    """The layer names the two EfficientNet detectors (AutoAttB4, B7-SSIM) answer the same
    way; a detector class sets ``depth_coefficient``."""

    depth_coefficient: float

    @property
    def feature_map_layer(self) -> str:
        """Name of the last conv feature layer (``top_activation``), the Grad-CAM target."""
        return FEATURE_MAP_LAYER

    @property
    def attention_block(self) -> str:
        """Name of the block whose output the attention reads and multiplies (the last
        block of stage 3: ``block3d`` in B4, ``block3g`` in B7)."""
        return stage_block_names(self.depth_coefficient)[ATTENTION_STAGE - 1][-1]


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow "same" padding (before, after) of one axis of ``size`` pixels."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _stride2_padding(
    x, kernel: int, padding: str, reference_size: int
) -> tuple[tuple[int, int], tuple[int, int]]:
    if padding != "keras":
        pad = same_padding(reference_size, kernel, 2)
        return pad, pad
    height, width = x.shape[1], x.shape[2]
    if height is None or width is None:
        raise ValueError(
            "EfficientNet with padding='keras' needs a static input size; got feature map "
            f"shape {tuple(x.shape)}. Build the model with a fixed input_size."
        )
    return same_padding(height, kernel, 2), same_padding(width, kernel, 2)


def check_padding(padding: str) -> str:
    """``padding`` with a former name resolved; a ValueError names the accepted values."""
    padding = PADDING_ALIASES.get(padding, padding)
    if padding not in PADDINGS:
        raise ValueError(f"padding must be one of {PADDINGS}; got {padding!r}.")
    return padding


def _bn(name: str) -> layers.BatchNormalization:
    return layers.BatchNormalization(epsilon=BN_EPSILON, name=name)


def mbconv_block(
    x,
    *,
    name: str,
    kernel: int,
    filters_in: int,
    filters_out: int,
    expand_ratio: int,
    stride: int,
    drop_rate: float,
    padding: str,
    reference_size: int,
):
    """One MBConv block: expand 1x1, depthwise, squeeze-excite, project 1x1, drop-connect skip.

    ``reference_size`` is the side the padding is computed for (``pytorch_*`` paddings only).
    """
    inputs = x
    filters = filters_in * expand_ratio
    if expand_ratio != 1:
        x = layers.Conv2D(
            filters,
            1,
            padding="same",
            use_bias=False,
            kernel_initializer=conv_init(),
            name=f"{name}_expand_conv",
        )(x)
        x = _bn(f"{name}_expand_bn")(x)
        x = layers.Activation(ACTIVATION, name=f"{name}_expand_activation")(x)
    if stride == 2:
        pad = _stride2_padding(x, kernel, padding, reference_size)
        x = layers.ZeroPadding2D(pad, name=f"{name}_dwconv_pad")(x)
    x = layers.DepthwiseConv2D(
        kernel,
        strides=stride,
        padding="valid" if stride == 2 else "same",
        use_bias=False,
        depthwise_initializer=conv_init(),
        name=f"{name}_dwconv",
    )(x)
    x = _bn(f"{name}_bn")(x)
    x = layers.Activation(ACTIVATION, name=f"{name}_activation")(x)

    se = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_se_squeeze")(x)
    se = layers.Conv2D(
        max(1, int(filters_in * SE_RATIO)),
        1,
        activation=ACTIVATION,
        kernel_initializer=conv_init(),
        name=f"{name}_se_reduce",
    )(se)
    se = layers.Conv2D(
        filters, 1, activation="sigmoid", kernel_initializer=conv_init(), name=f"{name}_se_expand"
    )(se)
    x = layers.Multiply(name=f"{name}_se_excite")([x, se])

    x = layers.Conv2D(
        filters_out,
        1,
        padding="same",
        use_bias=False,
        kernel_initializer=conv_init(),
        name=f"{name}_project_conv",
    )(x)
    x = _bn(f"{name}_project_bn")(x)
    if stride == 1 and filters_in == filters_out:
        if drop_rate > 0:
            x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}_drop")(x)
        x = layers.Add(name=f"{name}_add")([x, inputs])
    return x


def build_efficientnet(
    images,
    *,
    width_coefficient: float,
    depth_coefficient: float,
    drop_connect_rate: float = 0.2,
    padding: str = "keras",
    reference_size: int = 380,
    stage_hooks: dict[int, Callable] | None = None,
) -> dict[str, object]:
    """Add an EfficientNet (no top classifier) to the graph on ``images``; return end points.

    Args:
        images: a symbolic (N, H, W, 3) tensor, already normalised.
        width_coefficient, depth_coefficient: the compound scaling (B4: 1.4, 1.8; B7: 2.0, 3.1).
        drop_connect_rate: the largest drop-connect (drop-path) rate, reached linearly by the
            last block.
        padding: ``"keras"``, ``"pytorch_0.6"`` or ``"pytorch_0.7"`` (module docstring).
        reference_size: the global image side the ``pytorch_*`` paddings are computed for.
        stage_hooks: ``{stage: fn}``; ``fn(x)`` receives the output of stage ``stage`` (1-7)
            and returns the tensor the rest of the backbone continues on.

    Returns:
        ``{"stage1": ..., ..., "stage7": ..., "top": ...}``: each stage's last block output
        (before any hook) and the top activation (``top_activation``, 1280 x width channels).
    """
    padding = check_padding(padding)
    if not 0.0 <= drop_connect_rate < 1.0:
        raise ValueError(f"drop_connect_rate must be in [0, 1); got {drop_connect_rate}.")
    hooks = dict(stage_hooks or {})
    unknown = sorted(set(hooks) - set(range(1, 8)))
    if unknown:
        raise ValueError(f"stage_hooks keys must be stages 1-7; got {unknown}.")

    ref_side = int(reference_size)
    pad = _stride2_padding(images, 3, padding, ref_side)
    x = layers.ZeroPadding2D(pad, name="stem_conv_pad")(images)
    x = layers.Conv2D(
        round_filters(32, width_coefficient),
        3,
        strides=2,
        padding="valid",
        use_bias=False,
        kernel_initializer=conv_init(),
        name="stem_conv",
    )(x)
    x = _bn("stem_bn")(x)
    x = layers.Activation(ACTIVATION, name="stem_activation")(x)
    ref_side = -(-ref_side // 2)

    names = stage_block_names(depth_coefficient)
    total = float(sum(len(stage) for stage in names))
    index = 0
    end_points: dict[str, object] = {}
    for stage, (kernel, _, f_in, f_out, expand, stride) in enumerate(B0_STAGES, start=1):
        filters_in = round_filters(f_in, width_coefficient)
        filters_out = round_filters(f_out, width_coefficient)
        for j, name in enumerate(names[stage - 1]):
            block_stride = stride if j == 0 else 1
            x = mbconv_block(
                x,
                name=name,
                kernel=kernel,
                filters_in=filters_in if j == 0 else filters_out,
                filters_out=filters_out,
                expand_ratio=expand,
                stride=block_stride,
                drop_rate=drop_connect_rate * index / total,
                padding=padding,
                reference_size=reference_size if padding == "pytorch_0.6" else ref_side,
            )
            ref_side = -(-ref_side // block_stride)
            index += 1
        end_points[f"stage{stage}"] = x
        if stage in hooks:
            x = hooks[stage](x)

    x = layers.Conv2D(
        round_filters(1280, width_coefficient),
        1,
        padding="same",
        use_bias=False,
        kernel_initializer=conv_init(),
        name="top_conv",
    )(x)
    x = _bn("top_bn")(x)
    end_points["top"] = layers.Activation(ACTIVATION, name=FEATURE_MAP_LAYER)(x)
    return end_points


def is_backbone_layer(name: str) -> bool:
    """True for the names of layers ``build_efficientnet`` creates."""
    return name.startswith(("stem_", "block", "top_conv", "top_bn", "top_activation"))
