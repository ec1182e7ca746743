"""GenD's reference in PyTorch for the speed bench: transformers' ``CLIPVisionModel`` + GenD's
"LinearNorm" head when transformers is installed, else a plain torch CLIP vision tower with the
same parameter names (``embeddings.*``, ``pre_layrnorm``, ``encoder.layers.{i}.*``,
``post_layernorm``), so one state dict loads into either (strictly).

The plain tower computes what ``CLIPVisionModel`` computes with its default SDPA attention
(``torch.nn.functional.scaled_dot_product_attention``); the GPU machine has torch but no
transformers. ``tests/bench/test_torch_clip.py`` checks the two agree on CPU.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

EPS = 1e-5
ROOT = "feature_extractor.vision_model"


class _Embeddings(nn.Module):
    def __init__(self, width: int, patch: int, positions: int):
        super().__init__()
        self.class_embedding = nn.Parameter(torch.randn(width) * width**-0.5)
        self.patch_embedding = nn.Conv2d(3, width, patch, stride=patch, bias=False)
        self.position_embedding = nn.Embedding(positions, width)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        patches = self.patch_embedding(images).flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(patches.shape[0], 1, -1).to(patches.dtype)
        return torch.cat([cls, patches], 1) + self.position_embedding.weight


class _Attention(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (
            nn.Linear(width, width) for _ in range(4)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, length, width = x.shape

        def split(t):
            return t.view(n, length, self.heads, width // self.heads).transpose(1, 2)

        out = F.scaled_dot_product_attention(
            split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
        )
        return self.out_proj(out.transpose(1, 2).reshape(n, length, width))


class _Mlp(nn.Module):
    def __init__(self, width: int, mlp_dim: int):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(width, mlp_dim), nn.Linear(mlp_dim, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc1(x)
        return self.fc2(h * torch.sigmoid(1.702 * h))


class _Block(nn.Module):
    def __init__(self, width: int, heads: int, mlp_dim: int):
        super().__init__()
        self.layer_norm1 = nn.LayerNorm(width, eps=EPS)
        self.self_attn = _Attention(width, heads)
        self.layer_norm2 = nn.LayerNorm(width, eps=EPS)
        self.mlp = _Mlp(width, mlp_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp(self.layer_norm2(x))


class _Encoder(nn.Module):
    def __init__(self, depth: int, width: int, heads: int, mlp_dim: int):
        super().__init__()
        self.layers = nn.ModuleList(_Block(width, heads, mlp_dim) for _ in range(depth))


class PlainClipVision(nn.Module):
    """CLIP's vision tower on NCHW images -> ``pooler_output`` (post-LayerNorm class token)."""

    def __init__(self, image_size: int, patch_size: int, hidden_size: int,
                 num_hidden_layers: int, num_attention_heads: int, intermediate_size: int):
        super().__init__()
        self.embeddings = _Embeddings(hidden_size, patch_size,
                                      (image_size // patch_size) ** 2 + 1)
        self.pre_layrnorm = nn.LayerNorm(hidden_size, eps=EPS)
        self.encoder = _Encoder(num_hidden_layers, hidden_size, num_attention_heads,
                                intermediate_size)
        self.post_layernorm = nn.LayerNorm(hidden_size, eps=EPS)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.pre_layrnorm(self.embeddings(images))
        for block in self.encoder.layers:
            x = block(x)
        return self.post_layernorm(x[:, 0])


def clip_tower(cfg: dict, kind: str) -> nn.Module:
    """A randomly initialised tower (``eval`` mode) returning ``pooler_output`` for NCHW images.

    ``cfg``: transformers' ``CLIPVisionConfig`` fields (hidden_size, intermediate_size,
    num_hidden_layers, num_attention_heads, image_size, patch_size). ``kind``:
    ``"transformers"`` (CLIPVisionModel, quick_gelu, eps 1e-5) or ``"plain"``.
    """
    if kind == "plain":
        return PlainClipVision(**cfg).eval()
    if kind != "transformers":
        raise ValueError(f"reference {kind!r} is not 'transformers' or 'plain'.")
    import transformers

    config = transformers.CLIPVisionConfig(**cfg, hidden_act="quick_gelu", layer_norm_eps=EPS)
    return transformers.CLIPVisionModel(config).eval()


def pooled(tower: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """``pooler_output`` of either kind of tower."""
    if isinstance(tower, PlainClipVision):
        return tower(images)
    return tower(pixel_values=images).pooler_output


def gend_logits(tower: nn.Module, head: nn.Linear, images: torch.Tensor) -> torch.Tensor:
    """GenD's 2-class logits: ``head(normalize(pooler_output))``."""
    return head(F.normalize(pooled(tower, images), dim=1))


def gend_state(tower: nn.Module, head: nn.Linear) -> dict[str, np.ndarray]:
    """The tower and head as float32 numpy tensors under GenD's checkpoint keys."""
    state = {
        f"{ROOT}.{k.removeprefix('vision_model.')}": v.detach().float().cpu().numpy()
        for k, v in tower.state_dict().items()
    }
    state.update({f"model.linear.{k}": v.detach().float().cpu().numpy()
                  for k, v in head.state_dict().items()})
    return state


def load_gend_state(tower: nn.Module, head: nn.Linear, state: dict[str, np.ndarray]) -> None:
    """Load GenD's checkpoint tensors (``gend_state``'s keys) into the tower and head, strictly;
    ``visual_projection`` (unused by GenD) is left out."""
    prefix = "vision_model." if any(k.startswith("vision_model.") for k in tower.state_dict()) \
        else ""
    tower_state = {prefix + k[len(ROOT) + 1:]: torch.from_numpy(np.asarray(v))
                   for k, v in state.items() if k.startswith(ROOT + ".")}
    tower.load_state_dict(tower_state, strict=True)
    head.load_state_dict({k.removeprefix("model.linear."): torch.from_numpy(np.asarray(v))
                          for k, v in state.items() if k.startswith("model.linear.")},
                         strict=True)
