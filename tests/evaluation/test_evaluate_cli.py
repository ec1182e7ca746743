"""`tfdeepfake evaluate` end to end: synthetic shards, a run folder with tiny weights, a report."""

import json

import pytest

from tfdeepfake.cli import main


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    from tfrecords_tools.synthetic import write_synthetic_shards

    return write_synthetic_shards(
        tmp_path_factory.mktemp("shards"), n_real=3, n_fake=3, frames=4, split="test"
    )


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run folder as `tfdeepfake train` leaves it: preset.json, config.json, best weights."""
    import keras

    from tfdeepfake import create_model, runs
    from tfdeepfake.training.config import TrainConfig

    keras.utils.set_random_seed(0)
    run = tmp_path_factory.mktemp("run")
    model = create_model("autoatt_b4_tiny")
    runs.write_run(run, model, model.preset, TrainConfig().to_dict())
    return run


def test_evaluate_command_writes_report(shards, run_dir, tmp_path, capsys):
    out = tmp_path / "report"
    code = main(
        [
            "evaluate",
            "--run",
            str(run_dir),
            "--data",
            str(shards),
            "--out",
            str(out),
            "--aggregation",
            "mean_logit",
            "confident",
            "--batch-size",
            "5",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "frame level" in printed and "video confident" in printed
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["model"] == "autoatt_b4_tiny" and doc["run"] == str(run_dir)
    assert doc["weights"].endswith("best.weights.h5")
    assert doc["frame"]["overall"]["n"] == 24 and doc["frame"]["overall"]["n_fake"] == 12
    assert doc["video"]["confident"]["overall"]["n"] == 6
    assert doc["aggregations"] == ["mean_logit", "confident"]
    assert doc["primary_aggregation"] == "mean_logit"  # the preset's
    assert set(doc["frame"]["by_split"]) == {"test"}
    for name in ("per_frame.csv", "per_video.csv", "roc.png", "confusion_video.png"):
        assert (out / name).stat().st_size > 0
    assert len((out / "per_frame.csv").read_text().splitlines()) == 25


def test_evaluate_command_bad_input(shards, run_dir, tmp_path, capsys):
    assert (
        main(
            [
                "evaluate",
                "--run",
                str(tmp_path / "nope"),
                "--data",
                str(shards),
                "--out",
                str(tmp_path / "r"),
            ]
        )
        == 2
    )
    assert "no such folder" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert (
        main(
            ["evaluate", "--run", str(run_dir), "--data", str(empty), "--out", str(tmp_path / "r")]
        )
        == 2
    )
    assert "has no" in capsys.readouterr().err
    assert (
        main(
            [
                "evaluate",
                "--run",
                str(run_dir),
                "--data",
                str(shards),
                "--out",
                str(tmp_path / "r"),
                "--threshold",
                "1.5",
            ]
        )
        == 2
    )
    assert "--threshold" in capsys.readouterr().err


def test_evaluate_command_corrupt_shard(shards, run_dir, tmp_path, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    data = next(shards.glob("*.tfrecord")).read_bytes()
    (bad / "tracks-00000.tfrecord").write_bytes(data[: len(data) // 2])  # truncated
    args = ["evaluate", "--run", str(run_dir), "--data", str(bad), "--out", str(tmp_path / "r")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "tracks-00000.tfrecord" in err and "record" in err
