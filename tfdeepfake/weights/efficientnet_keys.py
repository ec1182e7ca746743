"""Checkpoint key layouts of the two EfficientNet references, mapped to Keras layer names.

The Keras EfficientNets use keras.applications' layer names (``stem_conv``,
``block{stage}{letter}_{dwconv,bn,se_reduce,...}``, ``top_conv``, ``top_bn``). Two
PyTorch layouts feed them:

- efficientnet-pytorch (icpr2020dfdc): ``_conv_stem``, ``_bn0``, ``_blocks.{i}.{_expand_conv,
  _bn0, _depthwise_conv, _bn1, _se_reduce, _se_expand, _project_conv, _bn2}``, ``_conv_head``,
  ``_bn1``; blocks numbered 0..N-1 across stages.
- timm (DFDC winner): ``conv_stem``, ``bn1``, ``blocks.{stage}.{j}`` with depthwise-separable
  blocks ``{conv_dw, bn1, se.conv_reduce, se.conv_expand, conv_pw, bn2}`` in stage 0 and
  inverted-residual blocks ``{conv_pw, bn1, conv_dw, bn2, se.*, conv_pwl, bn3}`` after,
  ``conv_head``, ``bn2``.

Both use batch-norm epsilon 1e-3.
"""

from __future__ import annotations

import re

import keras

from tfdeepfake.models.base import sublayers
from tfdeepfake.weights.mapping import LayerSource, MappingError

EFFICIENTNET_BN_EPS = 1e-3
_BLOCK = re.compile(r"^block(\d+)([a-z]+)_dwconv$")


def keras_blocks(model: keras.Model) -> list[tuple[int, int, str]]:
    """(stage index from 0, index in stage, Keras prefix) of every MBConv block, in order."""
    found = []
    for layer in sublayers(model):
        match = _BLOCK.match(layer.name)
        if match:
            stage, letters = int(match.group(1)), match.group(2)
            index = 0
            for ch in letters:
                index = index * 26 + (ord(ch) - ord("a"))
            found.append((stage - 1, index, f"block{stage}{letters}"))
    if not found:
        raise MappingError(
            f"Model {model.name!r} has no layers named like 'block1a_dwconv'; it is not an "
            "EfficientNet built with keras.applications layer names."
        )
    return sorted(set(found))


def _has_layer(model: keras.Model, name: str) -> bool:
    return any(layer.name == name for layer in sublayers(model))


def _bn(layer: str, prefix: str) -> LayerSource:
    return LayerSource(layer, prefix, "bn", eps=EFFICIENTNET_BN_EPS)


def _conv(layer: str, prefix: str, bias: bool = False) -> LayerSource:
    return LayerSource(layer, prefix, "conv", options={"bias": bias})


def efficientnet_pytorch_sources(model: keras.Model, root: str) -> list[LayerSource]:
    """Backbone mapping for lukemelas' efficientnet-pytorch keys under ``root``."""
    sources = [_conv("stem_conv", f"{root}._conv_stem"), _bn("stem_bn", f"{root}._bn0")]
    for i, (_, _, k) in enumerate(keras_blocks(model)):
        t = f"{root}._blocks.{i}"
        if _has_layer(model, f"{k}_expand_conv"):
            sources += [
                _conv(f"{k}_expand_conv", f"{t}._expand_conv"),
                _bn(f"{k}_expand_bn", f"{t}._bn0"),
            ]
        sources += [
            LayerSource(f"{k}_dwconv", f"{t}._depthwise_conv", "depthwise"),
            _bn(f"{k}_bn", f"{t}._bn1"),
            _conv(f"{k}_se_reduce", f"{t}._se_reduce", bias=True),
            _conv(f"{k}_se_expand", f"{t}._se_expand", bias=True),
            _conv(f"{k}_project_conv", f"{t}._project_conv"),
            _bn(f"{k}_project_bn", f"{t}._bn2"),
        ]
    sources += [_conv("top_conv", f"{root}._conv_head"), _bn("top_bn", f"{root}._bn1")]
    return sources


def timm_efficientnet_sources(model: keras.Model, root: str) -> list[LayerSource]:
    """Backbone mapping for timm's (tf_)efficientnet keys under ``root``."""
    sources = [_conv("stem_conv", f"{root}.conv_stem"), _bn("stem_bn", f"{root}.bn1")]
    for stage, j, k in keras_blocks(model):
        t = f"{root}.blocks.{stage}.{j}"
        se = [
            _conv(f"{k}_se_reduce", f"{t}.se.conv_reduce", bias=True),
            _conv(f"{k}_se_expand", f"{t}.se.conv_expand", bias=True),
        ]
        if _has_layer(model, f"{k}_expand_conv"):  # inverted residual
            sources += [
                _conv(f"{k}_expand_conv", f"{t}.conv_pw"),
                _bn(f"{k}_expand_bn", f"{t}.bn1"),
                LayerSource(f"{k}_dwconv", f"{t}.conv_dw", "depthwise"),
                _bn(f"{k}_bn", f"{t}.bn2"),
                *se,
                _conv(f"{k}_project_conv", f"{t}.conv_pwl"),
                _bn(f"{k}_project_bn", f"{t}.bn3"),
            ]
        else:  # depthwise-separable (expansion 1)
            sources += [
                LayerSource(f"{k}_dwconv", f"{t}.conv_dw", "depthwise"),
                _bn(f"{k}_bn", f"{t}.bn1"),
                *se,
                _conv(f"{k}_project_conv", f"{t}.conv_pw"),
                _bn(f"{k}_project_bn", f"{t}.bn2"),
            ]
    sources += [_conv("top_conv", f"{root}.conv_head"), _bn("top_bn", f"{root}.bn2")]
    return sources
