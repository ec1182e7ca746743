"""`tfdeepfake train` on synthetic shards, in-process: run folder, best model, load_run, logs,
and the errors that stop a run before training starts."""

import json
import re
import warnings

import numpy as np
import pytest
import tensorflow as tf

from tfdeepfake.cli import main
from tfrecords_tools.schema import LABEL_UNKNOWN
from tfrecords_tools.synthetic import synthetic_track, write_synthetic_shards
from tfrecords_tools.writer import ShardedWriter


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    root = tmp_path_factory.mktemp("shards")
    write_synthetic_shards(root / "train", n_real=4, n_fake=4, frames=4, size=32, seed=0)
    write_synthetic_shards(
        root / "val", n_real=2, n_fake=2, frames=4, size=32, seed=100, split="val"
    )
    return root


def test_train_writes_run_folder_and_load_run_restores_best(shards, tmp_path, capsys):
    run = tmp_path / "run"
    argv = [
        "train",
        "--model",
        "autoatt_b4_tiny",
        "--data",
        str(shards / "train"),
        "--val-data",
        str(shards / "val"),
        "--out",
        str(run),
        "--steps",
        "6",
        "--batch-size",
        "4",
        "--val-every",
        "3",
        "--checkpoint-every",
        "3",
        "--lr",
        "1e-3",
        "--no-progress",
        "--set",
        "log_every=2",
    ]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["steps"] == 6 and summary["start_step"] == 0
    assert summary["data"]["train"] == {
        "shards": 1, "tracks": 8, "real": 4, "fake": 4, "crop_size": 32, "face_window": 22.4
    }
    assert [v["step"] for v in summary["validations"]] == [3, 6]
    assert all(v["examples"] == 16 for v in summary["validations"])  # 4 tracks x 4 frames
    for name in (
        "config.json",
        "preset.json",
        "best.json",
        "best.weights.h5",
        "last.weights.h5",
        "summary.json",
        "checkpoints/ckpt-6.index",
    ):
        assert (run / name).exists(), name
    config = json.loads((run / "config.json").read_text())
    assert config["optimizer"]["learning_rate"] == 1e-3  # the flag, saved
    assert config["optimizer"]["schedule"] == "plateau"  # the AutoAttB4 recipe

    # TensorBoard: train scalars every 2 steps, validation scalars at steps 3 and 6.
    tags = {}
    for event_file in (run / "logs").rglob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            for value in event.summary.value:
                tags.setdefault((event_file.parent.name, value.tag), []).append(event.step)
    assert tags[("train", "loss")] == [2, 4, 6]
    assert tags[("val", "auc")] == [3, 6]

    # load_run rebuilds the model with the best weights: its validation AUC is best.json's.
    from tfdeepfake import runs
    from tfdeepfake.data import frame_dataset
    from tfdeepfake.scoring.metrics import roc_auc
    from tfdeepfake.training import load_run

    model, preset, loaded_config = load_run(str(run))
    assert preset.name == "autoatt_b4_tiny" and loaded_config.steps == 6
    assert runs.load_run(run).weights_source.endswith("best.weights.h5")
    logits, labels = [], []
    for images, y in frame_dataset(str(shards / "val"), preset, batch_size=8, training=False):
        logits.append(model(images, training=False)["logit"].numpy())
        labels.append(y.numpy())
    best = json.loads((run / "best.json").read_text())
    y = np.concatenate(labels).ravel()
    auc = roc_auc(y, np.concatenate(logits).ravel())
    # Six steps leave the tiny model's logits nearly tied, so the trainer's batching (its own
    # float rounding) can swap one real/fake pair: allow one pair of the n_real x n_fake.
    one_pair = 1 / float(y.sum() * (len(y) - y.sum()))
    assert auc == pytest.approx(best["auc"], abs=one_pair + 1e-6)


def _write(folder, tracks):
    with ShardedWriter(folder) as writer:
        for track in tracks:
            writer.write(track)
    return folder


@pytest.mark.parametrize(
    "case", ["empty", "unlabelled", "frames_for_clip_model", "margin", "corrupt"]
)
def test_bad_data_fails_before_training(case, shards, tmp_path, capsys):
    model, data = "autoatt_b4_tiny", tmp_path / "data"
    if case == "empty":
        data.mkdir()
        expected = "has no \\*.tfrecord shards"
    elif case == "unlabelled":
        _write(data, [synthetic_track("v0", LABEL_UNKNOWN, frames=2, seed=1)])
        expected = "carry no labels"
    elif case == "margin":
        _write(
            data,
            [synthetic_track(f"v{i}", i % 2, frames=2, seed=i, crop_margin=0.1) for i in range(2)],
        )
        expected = "cut with margin 0.100 but the model wants 0.200; re-extract"
    elif case == "corrupt":  # random bytes, no manifest: the first record cannot be read
        data.mkdir()
        (data / "bad-00000.tfrecord").write_bytes(np.random.default_rng(0).bytes(5000))
        expected = r"bad-00000.tfrecord: record 0 .* is corrupt: corrupted record .*--skip-corrupt"
    else:
        model, data = "resnet_lstm_tiny", shards / "train"  # 4-frame tracks, clips of 8
        expected = "clips of 8 frames .* longest track in the shards has 4 .* frame data"
    run = tmp_path / "run"
    code = main(["train", "--model", model, "--data", str(data), "--out", str(run)])
    assert code == 2
    err = capsys.readouterr().err
    assert str(data) in err
    assert re.search(expected, err), err
    assert not run.exists()  # nothing started


def test_unreadable_shards_are_left_out_with_skip_corrupt(shards, tmp_path):
    from tfdeepfake import get_preset
    from tfdeepfake.training.inputs import check_data

    data = write_synthetic_shards(tmp_path / "data", n_real=2, n_fake=2, frames=2, size=46)
    (data / "manifest.jsonl").unlink()  # tracks are then read from each shard's first record
    (data / "bad-00000.tfrecord").write_bytes(b"not a TFRecord" * 100)
    preset = get_preset("autoatt_b4_tiny")
    with pytest.raises(ValueError, match="bad-00000.tfrecord: record 0"):
        check_data(str(data), preset)
    with pytest.warns(UserWarning, match="skipping: .*bad-00000.tfrecord"):
        summary = check_data(str(data), preset, skip_corrupt=True)
    assert summary["real"] + summary["fake"] == summary["tracks"] >= 1


def test_out_that_is_a_file_stops_train_before_it_starts(shards, tmp_path, capsys):
    run = tmp_path / "run"
    run.write_text("keep me")
    code = main(["train", "--model", "autoatt_b4_tiny", "--data", str(shards / "train"),
                 "--out", str(run)])
    assert code == 2
    assert f"--out {run} is a file, not a folder" in capsys.readouterr().err
    assert run.read_text() == "keep me"


def test_resume_refuses_a_different_model(shards, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"model": {"name": "b7_ssim_tiny"}}))
    code = main(
        ["train", "--model", "autoatt_b4_tiny", "--data", str(shards / "train"), "--out", str(run)]
    )
    assert code == 2
    assert "holds a run of model 'b7_ssim_tiny'" in capsys.readouterr().err


def test_crops_too_small_for_the_model_are_warned_about_and_recorded(shards, tmp_path):
    from tfdeepfake import get_preset
    from tfdeepfake.training.inputs import check_data

    preset = get_preset("autoatt_b4_tiny")  # 32 px input, face margin 0.2
    # 32 px crops at margin 0.5 leave a 22.4 px face window: upsampled in training
    with pytest.warns(UserWarning, match=r"crops of 32 px leave model 'autoatt_b4_tiny' a 22 px "
                      r"face, upsampled 1\.43x .* `tfdeepfake extract --for autoatt_b4_tiny` "
                      r"\(46 px crops\)"):
        summary = check_data(str(shards / "train"), preset)
    assert summary["crop_size"] == 32 and summary["face_window"] == pytest.approx(22.4)
    big = write_synthetic_shards(tmp_path / "big", n_real=1, n_fake=1, frames=2, size=46, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        summary = check_data(str(big), preset)
    assert summary["face_window"] >= preset.input_size
