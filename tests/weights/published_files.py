"""Stand-ins for the published files: tiny models' random weights in the real key layouts,
saved in the real containers, served at the real paths, wired into a pretrained bundle.

``state_for(source)`` names every tensor as the reference's checkpoint does (the inverse
shapes of ``tfdeepfake.weights.mapping``'s converters), for a small preset of the source's
architecture so the whole download -> import -> detect path runs in seconds.
"""

from __future__ import annotations

import collections
import hashlib

import numpy as np

from tfdeepfake.weights.bundles import Bundle, Member
from tfdeepfake.weights.download import DOWNLOADS, HOSTS, Download
from tfdeepfake.weights.importer import build_for_source
from tfdeepfake.weights.mapping import _layers_by_name
from tfdeepfake.weights.sources import get_source

TINY_EFFNET = (("width_coefficient", 0.25), ("depth_coefficient", 0.1), ("input_size", 32))
# (member name, published file, tiny preset, overrides) of the real dfdc-lite members.
AUTOATT = ("autoatt_b4_dfdc", "EfficientNetAutoAttB4_DFDC", "autoatt_b4_tiny", ())
B7_SEED = ("dfdc_winner_b7_111_36", "dfdc-winner-b7-111-36", None, TINY_EFFNET)
# Where each host keeps its files: the path part of the real URLs.
WINNER = "selimsef/dfdc_deepfake_challenge"
HOST_PATHS = {
    "polimi-ispl/icpr2020dfdc": "/file/icpr2020/",
    WINNER: f"/{WINNER}/releases/download/0.0.1/",
}


def point_hosts_at(server_url: str, monkeypatch) -> None:
    """Every host's base URL -> ``server_url`` + the real path (the mirror variables)."""
    for host, path in HOST_PATHS.items():
        monkeypatch.setenv(HOSTS[host].env, server_url + path)


def _torch_shapes(layer, kind: str, options) -> dict[str, tuple]:
    weights = {w.path.rsplit("/", 1)[-1]: tuple(w.shape) for w in layer.weights}
    if kind == "bn":
        c = weights["gamma"]
        return {"weight": c, "bias": c, "running_mean": c, "running_var": c}
    if kind == "dense":
        i, o = weights["kernel"]
        return {"weight": (o, i), "bias": (o,)}
    kh, kw, i, o = weights["kernel"]
    shapes = {"weight": (i, 1, kh, kw) if kind == "depthwise" else (o, i, kh, kw)}
    if "bias" in weights:
        shapes["bias"] = weights["bias"]
    return shapes


def state_for(spec, seed: int = 0) -> dict:
    """Random float32 arrays under the checkpoint keys ``spec``'s source mapping reads."""
    _, download, preset, overrides = spec
    source = DOWNLOADS[download].source
    model, _ = build_for_source(source, preset, **dict(overrides))
    layers = _layers_by_name(model)
    rng = np.random.default_rng(seed)
    state = collections.OrderedDict()
    for src in get_source(source).layout(model):
        for name, shape in _torch_shapes(layers[src.layer], src.kind, src.options).items():
            if name == "running_var":
                value = rng.uniform(0.5, 1.5, shape)
            else:
                value = rng.normal(0.0, 0.3 if name == "weight" else 0.05, shape)
            state[f"{src.prefix}.{name}"] = value.astype("float32")
        if src.kind == "bn":
            state[f"{src.prefix}.num_batches_tracked"] = np.array(100)
    return state


def write_icpr_file(path, state) -> None:
    """A bare state dict, as the icpr2020dfdc notebooks' published files are."""
    import torch

    torch.save(collections.OrderedDict((k, torch.from_numpy(v)) for k, v in state.items()), path)


def write_winner_file(path, state) -> None:
    """``{epoch, state_dict (module.*), bce_best: numpy float64}`` in torch < 1.6's legacy
    format pickled under numpy 1, as the winner's 2020 release files are; timm's ImageNet
    classifier rides along inside the encoder."""
    import torch

    tensors = {f"module.{k}": torch.from_numpy(v) for k, v in state.items()}
    tensors["module.encoder.classifier.weight"] = torch.zeros(1000, 16)
    tensors["module.encoder.classifier.bias"] = torch.zeros(1000)
    checkpoint = {"epoch": 36, "state_dict": tensors, "bce_best": np.float64(0.1935)}
    torch.save(checkpoint, path, _use_new_zipfile_serialization=False)
    raw = path.read_bytes()
    path.write_bytes(raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))


def tiny_member(spec, payload: bytes) -> Member:
    """The bundle member of ``spec``, its digest that of ``payload``, on a tiny preset."""
    member, download, preset, overrides = spec
    real = DOWNLOADS[download]
    item = Download(real.name, real.source, real.host, real.filename,
                    hashlib.sha256(payload).hexdigest())
    return Member(member, item, 1, preset, dict(overrides))


def url_path(spec) -> str:
    """The path the real host serves ``spec``'s file at."""
    item = DOWNLOADS[spec[1]]
    return HOST_PATHS[item.host] + item.filename


def tiny_bundle(name: str, payloads: list) -> Bundle:
    """A bundle of tiny members; ``payloads``: (spec, the bytes served for it) pairs."""
    return Bundle(name, "tiny stand-in of " + name,
                  tuple(tiny_member(spec, body) for spec, body in payloads))
