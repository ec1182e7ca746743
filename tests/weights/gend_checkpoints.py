"""GenD checkpoints in the published key layout, written with random weights, and a numpy
forward pass of GenD written from its description (CLIP vision tower, L2 norm, Linear 2)."""

from __future__ import annotations

import numpy as np

TINY = {"image": 32, "patch": 8, "width": 32, "depth": 2, "heads": 4, "mlp": 64, "proj": 16}
ROOT = "feature_extractor.vision_model"


def gend_state(cfg: dict = TINY, seed: int = 0) -> dict[str, np.ndarray]:
    """Random float32 tensors named as in GenD's ``model.safetensors`` (transformers layout)."""
    rng = np.random.default_rng(seed)
    w, m, p = cfg["width"], cfg["mlp"], cfg["patch"]
    positions = (cfg["image"] // p) ** 2 + 1

    def t(*shape, scale=0.1):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    state = {
        f"{ROOT}.embeddings.class_embedding": t(w),
        f"{ROOT}.embeddings.patch_embedding.weight": t(w, 3, p, p, scale=0.05),
        f"{ROOT}.embeddings.position_embedding.weight": t(positions, w),
        f"{ROOT}.pre_layrnorm.weight": 1 + t(w),
        f"{ROOT}.pre_layrnorm.bias": t(w),
        f"{ROOT}.post_layernorm.weight": 1 + t(w),
        f"{ROOT}.post_layernorm.bias": t(w),
        "feature_extractor.visual_projection.weight": t(cfg["proj"], w),
        "model.linear.weight": t(2, w, scale=1.0),
        "model.linear.bias": t(2),
    }
    for i in range(cfg["depth"]):
        b = f"{ROOT}.encoder.layers.{i}"
        for ln in ("layer_norm1", "layer_norm2"):
            state[f"{b}.{ln}.weight"], state[f"{b}.{ln}.bias"] = 1 + t(w), t(w)
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            key = f"{b}.self_attn.{proj}"
            state[f"{key}.weight"], state[f"{key}.bias"] = t(w, w), t(w)
        state[f"{b}.mlp.fc1.weight"], state[f"{b}.mlp.fc1.bias"] = t(m, w), t(m)
        state[f"{b}.mlp.fc2.weight"], state[f"{b}.mlp.fc2.bias"] = t(w, m), t(w)
    return state


def _ln(x, s, name):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + 1e-5) * s[f"{name}.weight"] + s[f"{name}.bias"]


def _linear(x, s, name):
    return x @ s[f"{name}.weight"].T + s[f"{name}.bias"]


def numpy_gend(images_nchw: np.ndarray, s: dict, cfg: dict = TINY) -> np.ndarray:
    """GenD's 2-class logits (N, 2) for normalised NCHW images, in float64 numpy."""
    s = {k: v.astype(np.float64) for k, v in s.items()}
    n, p, w, heads = images_nchw.shape[0], cfg["patch"], cfg["width"], cfg["heads"]
    g = cfg["image"] // p
    x = images_nchw.astype(np.float64).reshape(n, 3, g, p, g, p).transpose(0, 2, 4, 1, 3, 5)
    kernel = s[f"{ROOT}.embeddings.patch_embedding.weight"].reshape(w, -1)
    tokens = x.reshape(n, g * g, -1) @ kernel.T
    cls = np.broadcast_to(s[f"{ROOT}.embeddings.class_embedding"], (n, 1, w))
    h = np.concatenate([cls, tokens], 1) + s[f"{ROOT}.embeddings.position_embedding.weight"]
    h = _ln(h, s, f"{ROOT}.pre_layrnorm")
    d = w // heads
    for i in range(cfg["depth"]):
        b = f"{ROOT}.encoder.layers.{i}"
        a = _ln(h, s, f"{b}.layer_norm1")
        q, k, v = (
            _linear(a, s, f"{b}.self_attn.{t}_proj").reshape(n, -1, heads, d).transpose(0, 2, 1, 3)
            for t in "qkv"
        )
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(d)
        prob = np.exp(scores - scores.max(-1, keepdims=True))
        prob /= prob.sum(-1, keepdims=True)
        att = (prob @ v).transpose(0, 2, 1, 3).reshape(n, -1, w)
        h = h + _linear(att, s, f"{b}.self_attn.out_proj")
        f = _linear(_ln(h, s, f"{b}.layer_norm2"), s, f"{b}.mlp.fc1")
        h = h + _linear(f / (1 + np.exp(-1.702 * f)), s, f"{b}.mlp.fc2")
    pooled = _ln(h[:, 0], s, f"{ROOT}.post_layernorm")
    feature = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    return _linear(feature, s, "model.linear")
