"""EfficientNetAutoAtt: the tiny autoatt_b4 preset end to end, its options and bad input."""

import keras
import numpy as np
import pytest
from model_checks import (
    check_attention,
    check_config_round_trip,
    check_forward,
    check_save_reload,
    check_train_step,
    random_batch,
)

from tfdeepfake import create_model
from tfdeepfake.models.efficientnet_autoatt import EfficientNetAutoAtt


@pytest.fixture(scope="module")
def model():
    return create_model("autoatt_b4_tiny")


def test_tiny_preset_forward_outputs_and_attention(model):
    x = random_batch(model)
    outputs = check_forward(model, x)
    assert sorted(outputs) == ["attention", "features", "logit"]
    check_attention(outputs, batch=2, size=4)  # 32 px / stride 8
    assert outputs["features"].shape == (2, 320)
    assert model.attention_block == "block3a"
    assert model.get_layer(model.feature_map_layer).output.shape[1:] == (1, 1, 320)
    assert model.preset.name == "autoatt_b4_tiny"


def test_attention_multiplies_the_features_that_continue(model):
    x, y = random_batch(model, seed=4), random_batch(model, seed=5)
    conv = model.get_layer("attention_conv")
    kernel, bias = conv.get_weights()
    try:
        conv.set_weights([np.zeros_like(kernel), np.full_like(bias, 20.0)])
        open_x, open_y = check_forward(model, x), check_forward(model, y)
        conv.set_weights([np.zeros_like(kernel), np.full_like(bias, -30.0)])
        closed_x, closed_y = check_forward(model, x), check_forward(model, y)
    finally:
        conv.set_weights([kernel, bias])
    np.testing.assert_allclose(open_x["attention"], 1.0, atol=1e-6)
    np.testing.assert_allclose(closed_x["attention"], 0.0, atol=1e-6)
    # A closed gate zeroes stage 3's output: what follows no longer depends on the image.
    scale = np.abs(open_x["features"] - open_y["features"]).max()
    assert scale > 0
    assert np.abs(closed_x["features"] - closed_y["features"]).max() < 1e-6 * scale


def test_train_step_save_reload_and_config(model, tmp_path):
    x = random_batch(model)
    check_train_step(model, x)
    check_save_reload(model, x, tmp_path)
    check_config_round_trip(model, x)


def test_plain_and_st_variants():
    plain = create_model("autoatt_b4_tiny", attention=False, head="bn_dense")
    x = random_batch(plain)
    outputs = check_forward(plain, x)
    assert sorted(outputs) == ["features", "logit"]
    names = {layer.name for layer in plain.layers}
    assert "head_bn" in names and "head_dropout" not in names and "attention_conv" not in names
    assert plain.name == "efficientnet"
    clone = check_config_round_trip(plain)
    assert clone.get_config()["head"] == "bn_dense"


def test_pytorch_padding_options_round_trip():
    model = EfficientNetAutoAtt(0.25, 0.1, input_size=32, padding="pytorch_0.7", reference_size=60)
    # At 60 px block3a sees 15x15 (odd): 5x5 stride 2 pads (2, 2); keras pads (1, 2) at 8x8.
    assert model.get_layer("block3a_dwconv_pad").padding == ((2, 2), (2, 2))
    check_forward(model, random_batch(model))
    assert check_config_round_trip(model).get_config()["padding"] == "pytorch_0.7"
    # 0.6.x pads every stride-2 conv for the global 60 px: (1, 2) for a 5x5 kernel.
    static = EfficientNetAutoAtt(0.25, 0.1, input_size=32, padding="pytorch_0.6", reference_size=60)
    assert static.get_layer("block3a_dwconv_pad").padding == ((1, 2), (1, 2))
    assert check_config_round_trip(static).get_config()["padding"] == "pytorch_0.6"


def test_former_padding_name_is_read_as_pytorch_0_7():
    model = EfficientNetAutoAtt(0.25, 0.1, input_size=32, padding="reference", reference_size=60)
    assert model.get_config()["padding"] == "pytorch_0.7"


@pytest.mark.parametrize(
    ("x", "message"),
    [
        (np.zeros((32, 32, 3), "float32"), r"got rank 3 .* add a batch axis"),
        (np.zeros((2, 4, 32, 32, 3), "float32"), r"got rank 5 .* fold time into the batch"),
        (np.zeros((2, 32, 32, 1), "float32"), r"got 1 channels .* RGB"),
        (np.zeros((2, 3, 32, 32), "float32"), r"got 32 channels"),
        (np.zeros((2, 32, 32, 3), "uint8"), r"got dtype uint8.*FacePreprocessor"),
        (np.zeros((2, 64, 64, 3), "float32"), r"got spatial size 64x64 .* Resize"),
    ],
)
def test_bad_input_names_the_expected_shape(model, x, message):
    with pytest.raises(ValueError, match=r"input 'images' must be \(batch, 32, 32, 3\) float32"):
        model(x)
    with pytest.raises(ValueError, match=message):
        model.predict(x, verbose=0)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="head must be one of"):
        EfficientNetAutoAtt(0.25, 0.1, input_size=32, head="mlp")
    with pytest.raises(ValueError, match="padding must be one of"):
        EfficientNetAutoAtt(0.25, 0.1, input_size=32, padding="same")
    with pytest.raises(ValueError, match="backbone_weights must be None or 'imagenet'"):
        EfficientNetAutoAtt(0.25, 0.1, input_size=32, backbone_weights="dfdc")
    with pytest.raises(ValueError, match="ImageNet weights exist only"):
        EfficientNetAutoAtt(0.25, 0.1, input_size=32, backbone_weights="imagenet")


@pytest.mark.slow
def test_full_size_autoatt_b4():
    model = create_model("autoatt_b4")
    outputs = check_forward(model, random_batch(model, batch=1))
    print(f"autoatt_b4 parameters: {model.count_params():,}")
    assert outputs["attention"].shape == (1, 28, 28, 1)
    assert outputs["features"].shape == (1, 1792)
    assert model.attention_block == "block3d"
    assert 17_000_000 < model.count_params() < 20_000_000
    st = create_model("autoatt_b4_st")
    print(f"autoatt_b4_st parameters: {st.count_params():,}")
    assert isinstance(keras.ops.convert_to_numpy(st(random_batch(st))["logit"]), np.ndarray)
