"""Config precedence (preset defaults < --config file < flags), validation, JSON round trip."""

import argparse
import json

import pytest

from tfdeepfake.cli import train as train_cli
from tfdeepfake.training.config import TrainConfig, resolve_config


def _parse(argv):
    parser = argparse.ArgumentParser()
    train_cli.register(parser.add_subparsers())
    return parser.parse_args(["train", *argv])


def test_preset_defaults_then_file_then_flags(tmp_path):
    base = resolve_config("b7_ssim_tiny", overrides={"data": {"train": "d"}, "out": "o"})
    # the DFDC winner's recipe comes from the family defaults
    assert (base.optimizer.name, base.optimizer.schedule, base.loss.name) == (
        "sgd",
        "poly",
        "balanced_bce",
    )
    assert base.loss.label_clip == 0.01 and base.data.batch_size == 12
    assert base.optimizer.weight_decay == 1e-4 and base.optimizer.nesterov

    yaml_file = tmp_path / "run.yaml"
    yaml_file.write_text(
        "optimizer:\n  learning_rate: 0.05\n  schedule: cosine\ndata:\n  batch_size: 6\nsteps: 77\n"
    )
    args = _parse(
        [
            "--model",
            "b7_ssim_tiny",
            "--data",
            "d",
            "--out",
            "o",
            "--config",
            str(yaml_file),
            "--batch-size",
            "4",
            "--set",
            "loss.mask_weight=0.5",
        ]
    )
    config = resolve_config(args.model, args.config, train_cli.overrides_from_args(args))
    assert config.data.batch_size == 4  # flag beats file
    assert config.optimizer.learning_rate == 0.05  # file beats preset
    assert config.optimizer.schedule == "cosine" and config.steps == 77
    assert config.optimizer.name == "sgd"  # preset kept where nobody overrides
    assert config.loss.mask_weight == 0.5  # --set KEY=VALUE
    assert config.data.augment is True  # flags not given do not override

    json_file = tmp_path / "run.json"
    json_file.write_text(json.dumps({"optimizer": {"name": "adamw"}, "data": {"augment": False}}))
    args = _parse(
        [
            "--model",
            "autoatt_b4_tiny",
            "--data",
            "d",
            "--out",
            "o",
            "--config",
            str(json_file),
            "--optimizer",
            "adam",
            "--no-balance",
        ]
    )
    config = resolve_config(args.model, args.config, train_cli.overrides_from_args(args))
    assert config.optimizer.name == "adam" and config.optimizer.schedule == "plateau"
    assert config.data.augment is False and config.data.balance is False


def test_saved_config_round_trips(tmp_path):
    config = resolve_config(
        "resnet_lstm_tiny",
        overrides={"data": {"train": "d"}, "out": "o", "model": {"overrides": {"dropout": 0.1}}},
    )
    config.save(str(tmp_path / "config.json"))
    again = TrainConfig.from_dict(json.loads((tmp_path / "config.json").read_text()))
    assert again == config and again.model.overrides == {"dropout": 0.1}


@pytest.mark.parametrize(
    "values, message",
    [
        ({"optimizer": {"nmae": "adam"}}, "unknown setting.*nmae.*OptimizerConfig"),
        ({"optimizer": {"name": "rmsprop"}}, "optimizer.name must be one of adam, sgd, adamw"),
        ({"strategy": "horovod"}, "strategy must be one of default, mirrored"),
        ({"steps": "many"}, "steps must be a number"),
        ({"data": {"augment": "maybe"}}, "augment must be true or false"),
        ({"loss": {"label_clip": 0.7}}, r"label_clip must be in \[0, 0.5\)"),
        ({"bn_refresh_batches": -1}, "bn_refresh_batches must be 0 .off. or positive"),
        ({"bn_refresh_batches": 8, "strategy": "mirrored"}, "bn_refresh_batches works with "
         "strategy=default and backend=tensorflow only"),
        ({"bn_refresh_batches": 8, "backend": "jax"}, "bn_refresh_batches works with"),
        ({"data": {"batch_size": 3.5}}, "batch_size must be a whole number; got 3.5"),
        ({"val_every": -3}, "val_every must be 0 or positive; got -3"),
        ({"data": {"train": "d", "val_steps": -1}}, "data.val_steps must be 0 or positive"),
        ({"log_every": 0}, "log_every must be at least 1"),
    ],
)
def test_bad_settings_name_the_setting(values, message):
    with pytest.raises(ValueError, match=message):
        resolve_config("autoatt_b4_tiny", overrides={"data": {"train": "d"}, "out": "o", **values})


def test_missing_inputs_and_bad_files_say_what_to_pass(tmp_path):
    with pytest.raises(ValueError, match="pass --data DIR"):
        resolve_config("autoatt_b4_tiny", overrides={"out": "o"})
    with pytest.raises(ValueError, match="Unknown model 'nope'"):
        resolve_config("nope")
    with pytest.raises(FileNotFoundError, match="check the --config path"):
        resolve_config("autoatt_b4_tiny", str(tmp_path / "missing.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ValueError, match="mapping of settings"):
        resolve_config("autoatt_b4_tiny", str(bad))


def test_train_and_resolve_config_say_what_they_take():
    from tfdeepfake.training import train

    with pytest.raises(ValueError, match="train\\(config\\): unknown setting.*stpes"):
        train({"model": {"name": "autoatt_b4_tiny"}, "stpes": 3})
    with pytest.raises(ValueError, match="No training data given"):
        train({"model": {"name": "autoatt_b4_tiny"}, "out": "o"})
    with pytest.raises(TypeError, match="config must be a TrainConfig or a dict, got int"):
        train(5)
    with pytest.raises(TypeError, match="overrides must be a nested dict"):
        resolve_config("autoatt_b4_tiny", overrides=[1])
