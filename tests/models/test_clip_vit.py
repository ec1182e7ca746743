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


def test_attention_maps_are_row_stochastic():
    model = create_model("gend_clip_tiny", attention_maps=True)
    attention = np.asarray(model(random_batch(model))["attention"])
    assert attention.shape == (2, 2, 4, 17, 17)  # (N, depth, heads, 1 + 4x4, 1 + 4x4)
    np.testing.assert_allclose(attention.sum(-1), 1.0, atol=1e-5)


def test_layer_norms_are_the_gend_trainable_set(model):
    names = layer_norm_names(model)
    assert names[0] == "pre_layrnorm" and names[-1] == "post_layernorm"
    assert len(names) == 2 + 2 * model.depth


def test_bad_sizes_name_the_fix():
    with pytest.raises(ValueError, match="multiple of patch_size 8"):
        GenDDetector(30, patch_size=8, width=32, depth=1, heads=4, mlp_dim=64)
    with pytest.raises(ValueError, match="Resize the faces to 32x32"):
        create_model("gend_clip_tiny")(np.zeros((1, 48, 48, 3), np.float32))
