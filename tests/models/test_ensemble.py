"""DeepfakeEnsemble (tiny members): wiring, probabilities, saving, from_members, bad input."""

import numpy as np
import pytest
from model_checks import check_forward, check_save_reload

from tfdeepfake.models import FacePreprocessor, create_model
from tfdeepfake.models.ensemble import DeepfakeEnsemble

MEMBERS = ("resnet_lstm_tiny", "autoatt_b4_tiny", "b7_ssim_tiny")


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@pytest.fixture(scope="module")
def ensemble():
    return create_model("ensemble_tiny")


@pytest.fixture(scope="module")
def clips():
    return np.random.default_rng(0).integers(0, 256, size=(2, 3, 40, 40, 3), dtype="uint8")


def test_outputs_and_probabilities(ensemble, clips):
    assert ensemble.members == MEMBERS and ensemble.threshold == 0.5
    out = check_forward(ensemble, clips)
    members = out["member_probabilities"]
    assert members.shape == (2, 3) and out["frame_logits"].shape == (2, 3, 3)
    assert np.all((members >= 0) & (members <= 1))
    np.testing.assert_allclose(out["probability"], members.mean(axis=1, keepdims=True), atol=1e-6)
    np.testing.assert_allclose(_sigmoid(out["logit"]), out["probability"], atol=1e-5)
    # Each member's video score is sigmoid(mean frame logit) (the LSTM's logit is that mean).
    np.testing.assert_allclose(_sigmoid(out["frame_logits"].mean(axis=1)), members, atol=1e-5)


def test_frame_member_sees_its_own_preprocessing(ensemble, clips):
    out = check_forward(ensemble, clips)
    member = ensemble.member_models["autoatt_b4_tiny"]
    faces = FacePreprocessor(size=32)(clips.reshape(6, 40, 40, 3))
    by_hand = np.asarray(member(faces)["logit"]).reshape(2, 3)
    np.testing.assert_allclose(out["frame_logits"][:, :, 1], by_hand, atol=1e-4)


def test_from_members_wraps_built_models(ensemble, clips):
    chosen = {name: ensemble.member_models[name] for name in MEMBERS[:2]}
    pair = DeepfakeEnsemble.from_members(chosen, threshold=0.7)
    assert pair.members == MEMBERS[:2] and pair.threshold == 0.7
    expected = check_forward(ensemble, clips)["member_probabilities"][:, :2]
    got = check_forward(pair, clips)["member_probabilities"]
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_from_members_needs_a_dict_keyed_by_preset_name(ensemble):
    member = ensemble.member_models["autoatt_b4_tiny"]
    with pytest.raises(TypeError, match="dict of built models keyed by preset name"):
        DeepfakeEnsemble.from_members([member])
    with pytest.raises(ValueError, match=r"\['x'\] are not preset names.*'autoatt_b4_tiny'"):
        DeepfakeEnsemble.from_members({"x": member})
    with pytest.raises(TypeError, match="members must be preset names"):
        DeepfakeEnsemble([member])


def test_save_and_reload(ensemble, clips, tmp_path):
    reloaded = check_save_reload(ensemble, clips.astype("float32"), tmp_path, atol=1e-5)
    assert reloaded.members == MEMBERS
    assert reloaded.member_preprocessing == ensemble.member_preprocessing


def test_bad_input_and_arguments(ensemble, clips):
    with pytest.raises(ValueError, match="add a batch axis"):
        ensemble(clips[0])
    with pytest.raises(ValueError, match="got 1 channels"):
        ensemble(clips[..., :1])
    with pytest.raises(ValueError, match="threshold must be a probability"):
        DeepfakeEnsemble(MEMBERS, threshold=1.5)
    with pytest.raises(ValueError, match="duplicate"):
        DeepfakeEnsemble(("autoatt_b4_tiny", "autoatt_b4_tiny"))
    with pytest.raises(ValueError, match="Known models: .*resnet_lstm_tiny"):
        DeepfakeEnsemble(("no_such_model",))
