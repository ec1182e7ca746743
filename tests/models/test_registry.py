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
