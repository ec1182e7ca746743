"""Key layout of the ResNeXt50-LSTM reference, mapped to ``ResNetLSTM``'s Keras layers.

The reference wraps torchvision's ``resnext50_32x4d`` children in ``nn.Sequential`` as
``model``: ``model.0`` conv1, ``model.1`` bn1, ``model.4``..``model.7`` layer1..layer4, each
bottleneck ``{conv1, bn1, conv2, bn2, conv3, bn3, downsample.0, downsample.1}``; then
``lstm.weight_ih_l0``/``lstm.weight_hh_l0`` (no bias) and ``linear1`` (2 classes, 0 = fake).
"""

from __future__ import annotations

import re

import keras

from tfdeepfake.models.base import sublayers
from tfdeepfake.weights.mapping import LayerSource, MappingError

TORCHVISION_BN_EPS = 1e-5
FAKE_CLASS = 0  # the reference's labels are inverted: class 0 is fake
_BLOCK = re.compile(r"^conv(\d)_block(\d+)_1_conv$")


def _bn(layer: str, prefix: str) -> LayerSource:
    return LayerSource(layer, prefix, "bn", eps=TORCHVISION_BN_EPS)


def _conv(layer: str, prefix: str, **options) -> LayerSource:
    return LayerSource(layer, prefix, "conv", options={"bias": False, **options})


def resnext_lstm_sources(model: keras.Model) -> list[LayerSource]:
    """Mapping of the reference's keys onto a ``ResNetLSTM`` with a resnext50_32x4d backbone."""
    blocks = sorted(
        (int(m.group(1)), int(m.group(2)))
        for layer in sublayers(model)
        if (m := _BLOCK.match(layer.name))
    )
    if not blocks:
        raise MappingError(
            f"Model {model.name!r} has no ResNet blocks named 'conv2_block1_1_conv'."
        )
    sources = [
        _conv("conv1_conv", "model.0", flip_input_channels=True),  # BGR-trained weights
        _bn("conv1_bn", "model.1"),
    ]
    for stage, block in blocks:
        k, t = f"conv{stage}_block{block}", f"model.{stage + 2}.{block - 1}"
        for i in (1, 2, 3):
            sources += [_conv(f"{k}_{i}_conv", f"{t}.conv{i}"), _bn(f"{k}_{i}_bn", f"{t}.bn{i}")]
        if block == 1:
            sources += [
                _conv(f"{k}_0_conv", f"{t}.downsample.0"),
                _bn(f"{k}_0_bn", f"{t}.downsample.1"),
            ]
    sources += [
        LayerSource("lstm", "lstm", "lstm", options={"bias": "zeros"}),
        LayerSource("classifier", "linear1", "dense_2class", options={"positive": FAKE_CLASS}),
    ]
    return sources
