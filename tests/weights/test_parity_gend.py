"""GenD parity: the imported Keras model against transformers' CLIPVisionModel + GenD's head
with the same random weights (a tiny CLIP here; ViT-L/14 behind ``slow``)."""

import gc

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
from safetensors.torch import save_file  # noqa: E402

from tfdeepfake.weights import import_checkpoint  # noqa: E402

pytestmark = pytest.mark.torch
TINY = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
        "num_attention_heads": 4, "image_size": 32, "patch_size": 8}
VIT_L14 = {"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 24,
           "num_attention_heads": 16, "image_size": 224, "patch_size": 14}


def _reference_checkpoint(cfg: dict, path, seed: int = 0):
    """GenD (CLIPVisionModel + Linear(width, 2) on the L2-normalised pooler_output) with random
    weights, saved as safetensors in GenD's key layout; returns the torch forward function."""
    torch.manual_seed(seed)
    config = transformers.CLIPVisionConfig(**cfg, hidden_act="quick_gelu", layer_norm_eps=1e-5)
    tower = transformers.CLIPVisionModel(config).eval()
    with torch.no_grad():  # LayerNorms away from (1, 0), so the test sees them
        for name, param in tower.named_parameters():
            if "norm" in name:
                param.add_(torch.randn_like(param) * 0.1)
    head = torch.nn.Linear(cfg["hidden_size"], 2)
    # GenD keeps CLIPModel.vision_model as feature_extractor.vision_model (transformers 4 names
    # CLIPVisionModel's keys "vision_model.*", transformers 5 leaves the prefix out).
    state = {
        f"feature_extractor.vision_model.{k.removeprefix('vision_model.')}": v
        for k, v in tower.state_dict().items()
    }
    state["feature_extractor.visual_projection.weight"] = torch.randn(8, cfg["hidden_size"])
    state.update({f"model.linear.{k}": v for k, v in head.state_dict().items()})
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))

    def forward(images_nhwc: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            x = torch.from_numpy(images_nhwc.transpose(0, 3, 1, 2).copy())
            pooled = tower(pixel_values=x).pooler_output
            return head(torch.nn.functional.normalize(pooled, dim=1)).numpy()

    return forward


def _check_parity(cfg, preset, tmp_path, batch):
    path = tmp_path / "model.safetensors"
    forward = _reference_checkpoint(cfg, path)
    x = np.random.default_rng(1).standard_normal(
        (batch, cfg["image_size"], cfg["image_size"], 3)
    ).astype(np.float32)
    z = forward(x)
    result = import_checkpoint("gend", path, tmp_path / "run", preset=preset)
    logit = np.asarray(result.model.predict(x, batch_size=2, verbose=0)["logit"]).reshape(-1)
    expected = z[:, 1] - z[:, 0]
    error = float(np.abs(logit - expected).max())
    assert error <= 1e-4 * max(float(np.ptp(expected)), 1.0), (error, expected)
    p_fake = torch.softmax(torch.from_numpy(z), 1)[:, 1].numpy()
    np.testing.assert_allclose(1 / (1 + np.exp(-logit)), p_fake, atol=1e-5)
    return error


def test_tiny_clip_parity(tmp_path):
    _check_parity(TINY, "gend_clip_tiny", tmp_path, batch=4)


@pytest.mark.slow
def test_vit_l14_parity(tmp_path, record_property):
    error = _check_parity(VIT_L14, "gend_clip_l14", tmp_path, batch=2)
    record_property("max_logit_error", error)
    gc.collect()
