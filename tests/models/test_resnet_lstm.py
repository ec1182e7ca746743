"""ResNetLSTM (tiny config): forward for T=1 and T=3, training step, saving, bad input."""

import re

import keras
import numpy as np
import pytest
from model_checks import (
    check_config_round_trip,
    check_forward,
    check_save_reload,
    check_train_step,
    random_batch,
)

from tfdeepfake.models import create_model
from tfdeepfake.models.resnet_lstm import ResNetLSTM


@pytest.fixture(scope="module")
def model():
    return create_model("resnet_lstm_tiny")


@pytest.mark.parametrize("frames", [1, 3])
def test_forward_any_number_of_frames(model, frames):
    x = random_batch(model, batch=2, frames=frames)
    outputs = check_forward(model, x)
    assert outputs["frame_logits"].shape == (2, frames, 1)
    assert outputs["features"].shape == (2, 16)
    # Dropout is off at inference, so the video logit is the mean of the frame logits.
    np.testing.assert_allclose(outputs["logit"], outputs["frame_logits"].mean(axis=1), atol=1e-5)


def test_lstm_runs_over_time_not_batch(model):
    x = random_batch(model, batch=2, frames=3)
    both = check_forward(model, x)["logit"]
    alone = check_forward(model, x[:1])["logit"]
    # Clips are independent (the reference's LSTM mixed the batch) ...
    np.testing.assert_allclose(both[:1], alone, atol=1e-5)
    # ... and the order of frames matters (the LSTM reads a sequence).
    reversed_frames = check_forward(model, x[:, ::-1])["frame_logits"]
    assert not np.allclose(reversed_frames, check_forward(model, x)["frame_logits"], atol=1e-6)


def test_train_save_reload_and_config(model, tmp_path):
    x = random_batch(model, batch=2, frames=2)
    check_train_step(model, x)
    reloaded = check_save_reload(model, x, tmp_path)
    assert reloaded.feature_map_layer == "conv5_block1_out"
    check_config_round_trip(model, x)


def test_feature_map_layer_is_the_last_conv_map(model):
    layer = model.get_layer(model.feature_map_layer)
    assert layer.output.shape == (None, 1, 1, 256)  # 32 px / 32, 32 * base_width channels


def test_resnet50_backbone_variant():
    model = create_model("resnet_lstm_tiny", backbone="resnet50")
    assert model.get_layer("conv2_block1_1_conv").use_bias
    assert model.get_layer("conv2_block1_2_conv").groups == 1
    check_forward(model, random_batch(model, frames=2))


def test_resnext_uses_grouped_convolutions(model):
    conv = model.get_layer("conv2_block1_2_conv")
    assert conv.groups == 4 and conv.filters == 16 and not conv.use_bias  # 4 channels per group
    assert model.get_layer("conv5_block1_2_conv").groups == 32


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((2, 32, 32, 3), "float32"), "add a time axis"),
        (np.zeros((2, 3, 32, 32, 1), "float32"), "got 1 channels"),
        (np.zeros((2, 3, 48, 48, 3), "float32"), "Resize the faces to 32x32"),
        (np.zeros((2, 3, 32, 32, 3), "uint8"), "FacePreprocessor"),
    ],
)
def test_bad_input_names_the_fix(model, bad, match):
    with pytest.raises(ValueError, match=match) as info:
        model(bad)
    assert "(batch, frames, 32, 32, 3)" in str(info.value)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="resnet50"):
        ResNetLSTM(backbone="vgg16", input_size=32)
    with pytest.raises(ValueError, match="block_counts must be 4"):
        ResNetLSTM(input_size=32, block_counts=(1, 1, 1))
    with pytest.raises(ValueError, match="no ImageNet weights for 'resnext50_32x4d'"):
        create_model("resnet_lstm_tiny", backbone_weights="imagenet")


def test_missing_backbone_weights_file_is_named(tmp_path):
    missing = str(tmp_path / "w.h5")
    expected = re.escape(f"backbone_weights file '{missing}' does not exist")
    with pytest.raises(FileNotFoundError, match=expected):
        create_model("resnet50_lstm", backbone_weights=missing)


def test_imagenet_weights_offline_error_names_file(monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("URL fetch failure: no network")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(RuntimeError, match="resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"):
        create_model("resnet_lstm_tiny", backbone="resnet50", backbone_weights="imagenet")
