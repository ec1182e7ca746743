"""Strict assignment of checkpoint tensors to Keras layers.

A mapping is a list of ``LayerSource`` entries: which Keras layer gets which checkpoint
tensors, converted how. ``assign_strict`` refuses to change the model unless every Keras
weight gets exactly one value of the right shape, every checkpoint tensor is used (or is
named in an explicit, documented ignore list), and every batch-norm layer's epsilon equals
the reference's. The error lists everything that did not match, not just the first problem.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence

import keras
import numpy as np

from tfdeepfake.models.base import sublayers

# Checkpoint keys never used by any model: BatchNorm's step counter is not a weight.
ALWAYS_IGNORED = {r"(^|\.)num_batches_tracked$": "BatchNorm step counter, not a weight"}
_MAX_LISTED = 25


class MappingError(ValueError):
    """The checkpoint and the Keras model do not correspond one to one."""


@dataclasses.dataclass(frozen=True)
class LayerSource:
    """Where one Keras layer's weights come from.

    Attributes:
        layer: the Keras layer name (unique in the model).
        prefix: the checkpoint key prefix, e.g. ``"efficientnet._blocks.3._depthwise_conv"``.
        kind: a key of ``CONVERTERS``: ``conv``, ``depthwise``, ``dense``, ``bn``, ``lstm``,
            ``dense_2class`` (a 2-way softmax layer turned into one logit), ``layer_norm``,
            ``clip_embeddings`` (CLIP's class token and position table).
        eps: the reference batch-norm epsilon (``bn`` only); checked against the layer's.
        options: extra converter arguments (e.g. ``{"flip_input_channels": True}``).
    """

    layer: str
    prefix: str
    kind: str
    eps: float | None = None
    options: Mapping[str, object] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class ImportSummary:
    """What ``assign_strict`` did: counts and the ignored keys with their reasons."""

    tensors_used: int
    weights_set: int
    parameters: int
    ignored: dict[str, str]


def _conv(get: Callable[[str], np.ndarray], opts: Mapping) -> dict[str, np.ndarray]:
    kernel = get("weight").transpose(2, 3, 1, 0)  # OIHW -> HWIO (grouped: HW(I/g)O)
    if opts.get("flip_input_channels"):
        kernel = kernel[:, :, ::-1, :]
    out = {"kernel": kernel}
    if opts.get("bias", True):
        out["bias"] = get("bias")
    return out


def _depthwise(get: Callable[[str], np.ndarray], opts: Mapping) -> dict[str, np.ndarray]:
    out = {"kernel": get("weight").transpose(2, 3, 0, 1)}  # (C,1,kh,kw) -> (kh,kw,C,1)
    if opts.get("bias", False):
        out["bias"] = get("bias")
    return out


def _dense(get: Callable[[str], np.ndarray], opts: Mapping) -> dict[str, np.ndarray]:
    return {"kernel": get("weight").T, "bias": get("bias")}


def _dense_2class(get: Callable[[str], np.ndarray], opts: Mapping) -> dict[str, np.ndarray]:
    # sigmoid(z_pos - z_neg) equals softmax([z_pos, z_neg])[0]: one logit, exactly.
    pos, neg = int(opts["positive"]), 1 - int(opts["positive"])
    weight, bias = get("weight"), get("bias")
    if weight.shape[0] != 2:
        raise MappingError(f"Expected a 2-class Linear layer, got weight shape {weight.shape}.")
    return {"kernel": (weight[pos] - weight[neg])[:, None], "bias": bias[pos : pos + 1] - bias[neg]}


def _bn(get: Callable[[str], np.ndarray], opts: Mapping) -> dict[str, np.ndarray]:
    return {
        "gamma": get("weight"),
        "beta": get("bias"),
        "moving_mean": get("running_mean"),
        "moving_variance": get("running_var"),
    }


def _layer_norm(get: Callable[[str], np.ndarray], opts: Mapping) -> dict[str, np.ndarray]:
    return {"gamma": get("weight"), "beta": get("bias")}


def _clip_embeddings(get: Callable[[str], np.ndarray], opts: Mapping) -> dict[str, np.ndarray]:
    return {
        "class_embedding": get("class_embedding"),
        "position_embedding": get("position_embedding.weight"),
    }


def _lstm(get: Callable[[str], np.ndarray], opts: Mapping) -> dict[str, np.ndarray]:
    # PyTorch and Keras both order the gates (input, forget, cell, output).
    out = {"kernel": get("weight_ih_l0").T, "recurrent_kernel": get("weight_hh_l0").T}
    if opts.get("bias", True) == "zeros":  # the reference LSTM has none: zero is exactly that
        out["bias"] = np.zeros(out["kernel"].shape[1], out["kernel"].dtype)
    elif opts.get("bias", True):
        out["bias"] = get("bias_ih_l0") + get("bias_hh_l0")
    return out


CONVERTERS: dict[str, Callable[[Callable[[str], np.ndarray], Mapping], dict[str, np.ndarray]]] = {
    "conv": _conv,
    "depthwise": _depthwise,
    "dense": _dense,
    "dense_2class": _dense_2class,
    "bn": _bn,
    "lstm": _lstm,
    "layer_norm": _layer_norm,
    "clip_embeddings": _clip_embeddings,
}


def _layers_by_name(model: keras.Model) -> dict[str, keras.layers.Layer]:
    layers: dict[str, keras.layers.Layer] = {}
    for layer in sublayers(model):
        layers.setdefault(layer.name, layer)
    return layers


def _listing(title: str, items: Sequence[str]) -> str:
    shown = "\n  ".join(items[:_MAX_LISTED])
    more = f"\n  ... and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else ""
    return f"{title} ({len(items)}):\n  {shown}{more}"


def assign_strict(
    model: keras.Model,
    state: Mapping[str, np.ndarray],
    sources: Sequence[LayerSource],
    ignored: Mapping[str, str] | None = None,
) -> ImportSummary:
    """Set every weight of ``model`` from ``state`` following ``sources``, or change nothing.

    Args:
        model: a built Keras model.
        state: checkpoint tensors by key (``read_state_dict``).
        sources: one entry per Keras layer that has weights.
        ignored: regex -> reason for checkpoint keys the reference model never computes with
            (added to ``ALWAYS_IGNORED``); they are reported, never silently dropped.

    Raises:
        MappingError: listing missing/unused keys, unset weights, shape and epsilon mismatches.
    """
    ignore_rules = {**ALWAYS_IGNORED, **(ignored or {})}
    layers = _layers_by_name(model)
    problems: dict[str, list[str]] = {
        "Keras layers named by the mapping but absent from the model": [],
        "checkpoint keys the mapping needs but the checkpoint lacks": [],
        "shape mismatches": [],
        "batch-norm epsilon mismatches": [],
        "Keras weights no mapping entry sets": [],
        "Keras weights of a mapped layer that the converter does not produce": [],
        "checkpoint tensors not used": [],
    }
    used: set[str] = set()
    updates: list[tuple[keras.Variable, np.ndarray]] = []
    assigned: set[int] = set()

    for src in sources:
        layer = layers.get(src.layer)
        if layer is None:
            problems["Keras layers named by the mapping but absent from the model"].append(
                f"{src.layer} (for {src.prefix}.*)"
            )
            continue
        missing: list[str] = []

        def get(name: str, _src: LayerSource = src, _missing: list[str] = missing) -> np.ndarray:
            key = f"{_src.prefix}.{name}"
            if key not in state:
                _missing.append(key)
                return np.zeros((0,), np.float32)
            used.add(key)
            return np.asarray(state[key])

        if (
            src.kind == "bn"
            and src.eps is not None
            and not np.isclose(float(layer.epsilon), src.eps, rtol=0.01, atol=0.0)
        ):
            problems["batch-norm epsilon mismatches"].append(
                f"{src.layer}: Keras epsilon {layer.epsilon:g}, reference {src.eps:g}"
            )
        try:
            values = CONVERTERS[src.kind](get, src.options)
        except (ValueError, IndexError):
            if not missing:  # a converter fails on the empty stand-ins of missing keys only
                raise
        if missing:
            problems["checkpoint keys the mapping needs but the checkpoint lacks"].extend(missing)
            continue
        by_name = {w.path.rsplit("/", 1)[-1]: w for w in layer.weights}
        for name, variable in by_name.items():
            if name not in values:
                problems[
                    "Keras weights of a mapped layer that the converter does not produce"
                ].append(f"{variable.path} {tuple(variable.shape)}")
                continue
            value = values.pop(name)
            if tuple(value.shape) != tuple(variable.shape):
                problems["shape mismatches"].append(
                    f"{variable.path}: Keras {tuple(variable.shape)} <- {src.prefix} "
                    f"{tuple(value.shape)}"
                )
                continue
            updates.append((variable, value))
            assigned.add(id(variable))
        for name in values:
            problems["Keras layers named by the mapping but absent from the model"].append(
                f"{src.layer}/{name} (the layer has no such weight; from {src.prefix})"
            )

    for variable in model.weights:
        if id(variable) not in assigned and not _is_mapped_elsewhere(variable, problems):
            problems["Keras weights no mapping entry sets"].append(
                f"{variable.path} {tuple(variable.shape)}"
            )
    ignored_keys: dict[str, str] = {}
    for key in state:
        if key in used:
            continue
        reason = next((why for rule, why in ignore_rules.items() if re.search(rule, key)), None)
        if reason is None:
            problems["checkpoint tensors not used"].append(f"{key} {tuple(state[key].shape)}")
        else:
            ignored_keys[key] = reason

    found = {title: items for title, items in problems.items() if items}
    if found:
        raise MappingError(
            "The checkpoint does not map one to one onto the Keras model; nothing was changed.\n"
            + "\n".join(_listing(title, items) for title, items in found.items())
            + "\nCheck that SOURCE matches the checkpoint and that --preset builds the same "
            "architecture (width/depth, attention, head)."
        )
    for variable, value in updates:
        variable.assign(value.astype(variable.dtype))
    return ImportSummary(
        tensors_used=len(used),
        weights_set=len(updates),
        parameters=int(sum(np.prod(v.shape) for v, _ in updates)),
        ignored=ignored_keys,
    )


def _is_mapped_elsewhere(variable: keras.Variable, problems: Mapping[str, list[str]]) -> bool:
    # A weight already reported as a shape mismatch is not "unset" a second time.
    return any(line.startswith(f"{variable.path}:") for line in problems["shape mismatches"])
