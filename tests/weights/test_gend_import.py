"""GenD import without PyTorch: safetensors in the published layout -> strict mapping -> the
Keras model computes GenD's logits (checked against a numpy forward pass)."""

import json

import numpy as np
import pytest
from gend_checkpoints import TINY, gend_state, numpy_gend
from safetensors.numpy import save_file

from tfdeepfake.weights import MappingError, import_checkpoint

TINY_PRESET = "gend_clip_tiny"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    state = gend_state()
    path = tmp_path_factory.mktemp("gend") / "model.safetensors"
    save_file(state, str(path))
    return path, state


def test_import_matches_numpy_gend(checkpoint, tmp_path):
    path, state = checkpoint
    result = import_checkpoint("gend", path, tmp_path / "run", preset=TINY_PRESET)
    x = np.random.default_rng(1).standard_normal((3, 32, 32, 3)).astype(np.float32)
    z = numpy_gend(x.transpose(0, 3, 1, 2), state)
    logit = np.asarray(result.model(x)["logit"]).reshape(-1)
    expected = z[:, 1] - z[:, 0]
    assert np.abs(logit - expected).max() <= 1e-4 * max(np.ptp(expected), 1.0)
    p_fake = np.exp(z[:, 1]) / np.exp(z).sum(1)
    np.testing.assert_allclose(1 / (1 + np.exp(-logit)), p_fake, atol=1e-5)
    provenance = json.loads((tmp_path / "run" / "source.json").read_text())
    assert list(provenance["ignored_checkpoint_keys"]) == [
        "feature_extractor.visual_projection.weight"
    ]
    assert provenance["tensors_used"] == len(state) - 1
    assert provenance["licence"].startswith("MIT")


def test_unused_and_missing_tensors_are_listed_and_nothing_changes(checkpoint, tmp_path):
    _, state = checkpoint
    broken = dict(state)
    del broken["feature_extractor.vision_model.encoder.layers.1.mlp.fc2.bias"]
    broken["feature_extractor.vision_model.encoder.layers.2.layer_norm1.weight"] = np.ones(
        32, np.float32
    )
    path = tmp_path / "broken.safetensors"
    save_file(broken, str(path))
    with pytest.raises(MappingError) as err:
        import_checkpoint("gend", path, tmp_path / "run", preset=TINY_PRESET)
    text = str(err.value)
    assert "encoder.layers.1.mlp.fc2.bias" in text and "lacks" in text
    assert "encoder.layers.2.layer_norm1.weight (32,)" in text and "not used" in text
    assert not (tmp_path / "run").exists()


def test_a_wider_checkpoint_reports_the_shape_mismatches(tmp_path):
    path = tmp_path / "wide.safetensors"
    save_file(gend_state({**TINY, "width": 48, "heads": 4}), str(path))
    with pytest.raises(MappingError, match="shape mismatches"):
        import_checkpoint("gend", path, tmp_path / "run", preset=TINY_PRESET)


def test_not_a_safetensors_file_is_a_clear_error(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"<html>not found</html>")
    with pytest.raises(ValueError, match="download it again"):
        import_checkpoint("gend", path, tmp_path / "run", preset=TINY_PRESET)
