"""GenDDetector: the tiny CLIP ViT preset end to end, the attention maps and bad input."""

import numpy as np
import pytest
from model_checks import (
    check_config_round_trip,
    check_forward,
    check_save_reload,
    check_train_step,
    random_batch,
)

from tfdeepfake import create_model
from tfdeepfake.models.clip_vit import GenDDetector, layer_norm_names


@pytest.fixture(scope="module")
def model():
    return create_model("gend_clip_tiny")


def test_tiny_preset_forward_features_are_unit_vectors(model):
    x = random_batch(model)
    outputs = check_forward(model, x)
    assert sorted(outputs) == ["features", "logit"]
    np.testing.assert_allclose(np.linalg.norm(outputs["features"], axis=1), 1.0, atol=1e-5)
    assert model.preset.mean[0] == pytest.approx(0.48145466)  # CLIP statistics


def test_train_save_and_config_round_trip(model, tmp_path):
    x = random_batch(model)
    assert np.isfinite(check_train_step(model, x))
    check_save_reload(model, x, tmp_path)
    check_config_round_trip(model, x)


def test_attention_rollout_maps_and_the_heatmap_entry_point(model):
    from tfdeepfake.explain import attention_rollout, face_heatmaps
    from tfdeepfake.explain.rollout import _rollout_model

    x = random_batch(model)
    maps = attention_rollout(model, x)
    assert maps.shape == (2, 32, 32) and maps.min() >= 0 and 0.5 < maps.max() <= 1.0
    np.testing.assert_allclose(face_heatmaps(model, x), maps)
    row = np.asarray(_rollout_model(model)(x))
    assert row.shape == (2, 17)  # the class row over 1 + 4x4 tokens
    np.testing.assert_allclose(row.sum(1), 1.0, atol=1e-5)  # a product of row-stochastic maps


def test_uniform_attention_rolls_out_flat():
    """Zero keys give uniform attention in every block: (0.5 I + 0.5 U)^2 has a flat class row
    over the patches."""
    model = create_model("gend_clip_tiny")
    for name in ("block0_k_proj", "block1_k_proj"):
        kernel, bias = model.get_layer(name).get_weights()
        model.get_layer(name).set_weights([np.zeros_like(kernel), bias * 0])
    x = random_batch(model)
    from tfdeepfake.explain.rollout import _rollout_model

    row = np.asarray(_rollout_model(model)(x))[:, 1:]
    np.testing.assert_allclose(row, 0.75 / 17, rtol=1e-4)  # 17 tokens, 1 - 0.5^2 spread


def test_layer_norms_are_the_gend_trainable_set(model):
    names = layer_norm_names(model)
    assert names[0] == "pre_layrnorm" and names[-1] == "post_layernorm"
    assert len(names) == 2 + 2 * model.depth


def test_bad_sizes_name_the_fix():
    with pytest.raises(ValueError, match="multiple of patch_size 8"):
        GenDDetector(30, patch_size=8, width=32, depth=1, heads=4, mlp_dim=64)
    with pytest.raises(ValueError, match="Resize the faces to 32x32"):
        create_model("gend_clip_tiny")(np.zeros((1, 48, 48, 3), np.float32))
