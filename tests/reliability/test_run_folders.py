"""Run folders: the checkpoint fallback of load_run only accepts weights of the same model;
training holds the run folder's lock; config.json and preset.json are written atomically."""

import os

import pytest


def _run_folder(tmp_path, preset_name, checkpoint_of):
    import tensorflow as tf

    from tfdeepfake import create_model, get_preset, runs
    from tfdeepfake.training.config import TrainConfig

    run_dir = str(tmp_path / "run")
    os.makedirs(run_dir)
    runs.write_preset(run_dir, get_preset(preset_name))
    runs.write_config(run_dir, TrainConfig(out=run_dir).to_dict())
    other = create_model(checkpoint_of) if checkpoint_of else None
    objects = {"model": other} if other is not None else {}  # None: a checkpoint without one
    checkpoint = tf.train.Checkpoint(step=tf.Variable(7, dtype=tf.int64), **objects)
    tf.train.CheckpointManager(checkpoint, os.path.join(run_dir, runs.CHECKPOINT_DIR), 1).save(7)
    return run_dir, other


def test_checkpoint_fallback_refuses_weights_of_another_model(tmp_path):
    from tfdeepfake.training.run import load_run

    run_dir, _ = _run_folder(tmp_path, "autoatt_b4_tiny", checkpoint_of=None)
    with pytest.raises(ValueError, match="does not match"):
        load_run(run_dir)  # was: the random init, silently, via expect_partial()


def test_checkpoint_fallback_loads_the_same_model(tmp_path):
    import numpy as np

    from tfdeepfake import runs

    run_dir, trained = _run_folder(tmp_path, "autoatt_b4_tiny", checkpoint_of="autoatt_b4_tiny")
    run = runs.load_run(run_dir)
    for got, want in zip(run.model.weights, trained.weights):
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    assert run.weights_source.endswith("ckpt-7")


def test_training_holds_the_run_folder_lock(tmp_path, capsys):
    from tfdeepfake.cli import main
    from tfdeepfake.safeio import folder_lock
    from tfrecords_tools.synthetic import write_synthetic_shards

    data = write_synthetic_shards(tmp_path / "data", n_real=2, n_fake=2, frames=2)
    out = tmp_path / "run"
    with folder_lock(out):  # another training run on this folder
        code = main(["train", "--model", "autoatt_b4_tiny", "--out", str(out), "--steps", "1",
                     "--data", str(data), "--batch-size", "2"])
    assert code == 2
    assert "in use by another training run" in capsys.readouterr().err
