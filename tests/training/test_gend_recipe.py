"""GenD's recipe in `tfdeepfake train`: AdamW 3e-4 cosine, and only the LayerNorms and the head
train, starting from an imported GenD folder (--init-weights)."""

import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from tfdeepfake import create_model
from tfdeepfake.cli import main
from tfdeepfake.training import resolve_config
from tfdeepfake.weights import import_checkpoint
from tfrecords_tools.synthetic import write_synthetic_shards

sys.path.insert(0, str(Path(__file__).parents[1] / "weights"))
from gend_checkpoints import gend_state  # noqa: E402


def test_family_defaults_are_gends_recipe():
    config = resolve_config("gend_clip_tiny", overrides={"data": {"train": "shards"}, "out": "run"})
    assert config.model.trainable == "layer_norms"
    assert (config.optimizer.name, config.optimizer.learning_rate) == ("adamw", 3e-4)
    assert (config.optimizer.weight_decay, config.optimizer.schedule) == (0.0, "cosine")


def test_layer_norm_only_training_from_an_imported_gend(tmp_path):
    path = tmp_path / "model.safetensors"
    save_file(gend_state(), str(path))
    start = import_checkpoint("gend", path, tmp_path / "gend", preset="gend_clip_tiny").model
    before = {w.path: np.array(w) for w in start.weights}
    write_synthetic_shards(tmp_path / "train", n_real=3, n_fake=3, frames=4, size=64, seed=0)
    code = main(["train", "--model", "gend_clip_tiny", "--data", str(tmp_path / "train"),
                 "--out", str(tmp_path / "run"), "--init-weights", str(tmp_path / "gend"),
                 "--steps", "3", "--batch-size", "8", "--val-every", "0", "--no-progress"])
    assert code == 0
    after_model = create_model("gend_clip_tiny")
    after_model.load_weights(str(tmp_path / "run" / "last.weights.h5"))
    changed = {w.path for w in after_model.weights if not np.allclose(before[w.path], np.array(w))}
    assert changed, "nothing trained"
    assert all(("norm" in p or "layrnorm" in p or p.startswith("logit/")) for p in changed), changed
    assert any(p.startswith("logit/") for p in changed)


def test_layer_norms_on_a_cnn_is_refused(tmp_path):
    from tfdeepfake.training.trainer import set_trainable

    with pytest.raises(ValueError, match="no LayerNormalization"):
        set_trainable(create_model("autoatt_b4_tiny"), "layer_norms")
