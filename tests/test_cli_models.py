"""`tfdeepfake models`: lists every preset, prints tiny parameter counts, reports bad names."""

import json

import pytest

from tfdeepfake.cli import main
from tfdeepfake.models import create_model, list_models


def test_lists_every_preset_with_its_contract(capsys):
    assert main(["models", "--no-params", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [e["name"] for e in entries] == list_models()
    by_name = {e["name"]: e for e in entries}
    lstm = by_name["resnet_lstm"]["contract"]
    assert lstm["input_size"] == 112 and lstm["frames"] == 20 and lstm["sequence"] is True
    assert by_name["b7_ssim"]["contract"]["crop_mode"] == "pad"
    assert all("parameters" not in e for e in entries)


def test_tiny_parameter_counts(capsys):
    names = ["resnet_lstm_tiny", "autoatt_b4_tiny"]
    assert main(["models", *names]) == 0
    text = capsys.readouterr().out
    for name in names:
        model = create_model(name)
        assert f"{name}  [{model.preset.family}]  {model.count_params():,} parameters" in text
    assert "input (N, T, 32, 32, 3), 8 frames per video, labels 1=fake" in text


def test_unknown_name_is_reported_and_others_still_listed(capsys):
    assert main(["models", "--no-params", "resnet_lstn", "resnet_lstm_tiny"]) == 1
    out = capsys.readouterr().out
    assert "unknown model 'resnet_lstn'. Known models: " in out
    assert "resnet_lstm_tiny  [resnet_lstm]" in out


@pytest.mark.slow
def test_full_size_counts(capsys):
    assert main(["models", "--json", "resnet_lstm", "resnet50_lstm"]) == 0
    counts = {e["name"]: e["parameters"] for e in json.loads(capsys.readouterr().out)}
    head = 4 * 2048 * (2048 + 2048 + 1) + 2049  # LSTM kernel, recurrent kernel, bias; Dense
    assert counts["resnet50_lstm"] == 23_587_712 + head
    assert counts["resnet_lstm"] == 23_048_128 + head
