"""create_model / list_models / get_preset: overrides and the unknown-name error."""

import pytest

from tfdeepfake import create_model, get_preset, list_models
from tfdeepfake.models.resnet_lstm import ResNetLSTM


def test_every_family_has_a_tiny_preset():
    names = list_models()
    assert {"resnet_lstm", "resnet50_lstm", "ensemble", "resnet_lstm_tiny"} <= set(names)
    families = {get_preset(n).family for n in names}
    tiny_families = {get_preset(n).family for n in names if n.endswith("_tiny")}
    assert tiny_families == families


def test_overrides_reach_contract_and_config():
    model = create_model("resnet_lstm_tiny", input_size=64, lstm_units=8, frames=4)
    assert isinstance(model, ResNetLSTM)
    assert model.preset.input_size == 64 and model.preset.frames == 4
    assert model.input_size == 64 and model.lstm_units == 8
    assert model.inputs[0].shape == (None, None, 64, 64, 3)
    assert get_preset("resnet_lstm_tiny").input_size == 32  # the registry is untouched


def test_unknown_name_lists_known_names():
    with pytest.raises(ValueError, match="Unknown model 'resnet_lstn'") as info:
        create_model("resnet_lstn")
    assert all(name in str(info.value) for name in list_models())


def test_unknown_config_key_fails_loudly():
    with pytest.raises(TypeError, match="lstm_unitz"):
        create_model("resnet_lstm_tiny", lstm_unitz=8)


@pytest.mark.parametrize("name", ["autoatt_b4_tiny", "b7_ssim_tiny", "gend_clip_tiny"])
def test_every_family_refuses_a_misspelled_keyword(name):
    expected = r"unknown argument\(s\) \['inputsize'\]; it takes \[.*'input_size'"
    with pytest.raises(TypeError, match=expected):
        create_model(name, inputsize=64)


@pytest.mark.parametrize("name", sorted(n for n in list_models() if n.endswith("_tiny")))
def test_input_size_that_is_no_whole_number_names_input_size(name):
    for bad in ("big", 64.5):
        expected = f"input_size must be a whole number of pixels.*got {bad!r}"
        with pytest.raises(ValueError, match=expected):
            create_model(name, input_size=bad)


def test_every_family_answers_the_detector_protocol(tmp_path):
    """Export, explanation and evaluation ask the model (preset, feature map layer, float
    layers, static copy) instead of checking its class; a plain Keras model is refused with
    the fix."""
    import keras

    from tfdeepfake.export.loading import export_keras
    from tfdeepfake.models.base import DeepfakeModel

    assert all(issubclass(get_preset(n).model_class, DeepfakeModel) for n in list_models())
    gend = create_model("gend_clip_tiny")
    assert gend.preset.name == "gend_clip_tiny" and gend.float_layers() == ()
    assert gend.feature_map_layer is None
    assert gend.attention_layers == ["block0_attn", "block1_attn"]
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    with pytest.raises(TypeError, match=r"export_keras needs a tfdeepfake model \(tfdeepfake"):
        export_keras(plain, tmp_path)


def test_functions_taking_a_preset_take_its_name_too(tmp_path):
    from tfdeepfake.data import frame_dataset
    from tfdeepfake.models import get_preset, preprocessor_for
    from tfrecords_tools.synthetic import write_synthetic_shards

    preset = get_preset("autoatt_b4_tiny")
    assert get_preset(preset) is preset
    by_name, by_preset = preprocessor_for("autoatt_b4_tiny"), preprocessor_for(preset)
    assert {**by_name.get_config(), "name": ""} == {**by_preset.get_config(), "name": ""}
    write_synthetic_shards(str(tmp_path / "s"), n_real=1, n_fake=1)
    images, _ = next(iter(frame_dataset(str(tmp_path / "s"), "autoatt_b4_tiny", batch_size=2,
                                        training=False)))
    assert images.shape[1:] == (preset.input_size, preset.input_size, 3)
    with pytest.raises(TypeError, match="Expected a preset name or a Preset, got int"):
        get_preset(5)
