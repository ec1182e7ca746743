"""EfficientNetSSIM: the tiny b7_ssim preset, the SSIM branch, the winner's B7, JAX parity."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from model_checks import (
    check_attention,
    check_config_round_trip,
    check_forward,
    check_save_reload,
    check_train_step,
    random_batch,
)

from tfdeepfake import create_model
from tfdeepfake.models.efficientnet_ssim import DownUpSample, EfficientNetSSIM, Unnormalize
from tfdeepfake.models.imagenet import copy_backbone_weights
from tfdeepfake.models.preprocessing import FacePreprocessor


@pytest.fixture(scope="module")
def model():
    return create_model("b7_ssim_tiny")


def test_tiny_preset_forward_outputs_and_attention(model):
    outputs = check_forward(model, random_batch(model))
    assert sorted(outputs) == ["attention", "features", "logit"]
    check_attention(outputs, batch=2, size=6)  # 48 px / stride 8
    assert outputs["features"].shape == (2, 320 + 64)  # B7 pooled + SSIM pooled
    assert model.attention_block == "block3a"
    assert model.feature_map_layer == "top_activation"
    assert model.get_layer("attention_multiply") is not None


def test_train_step_save_reload_and_config(model, tmp_path):
    x = random_batch(model)
    check_train_step(model, x)
    check_save_reload(model, x, tmp_path)
    check_config_round_trip(model, x)


def test_paired_reference_feeds_the_ssim_attention():
    paired = create_model("b7_ssim_tiny", paired=True)
    x = random_batch(paired, seed=1)
    assert sorted(x) == ["images", "reference"]
    first = check_forward(paired, x)
    changed = check_forward(paired, {**x, "reference": random_batch(paired, seed=2)["reference"]})
    check_attention(first, batch=2, size=6)
    assert not np.allclose(first["attention"], changed["attention"], atol=1e-6)
    with pytest.raises(ValueError, match=r"expected a dict with inputs \['images', 'reference'\]"):
        paired(x["images"])
    with pytest.raises(ValueError, match=r"missing input\(s\) \['reference'\]"):
        paired({"images": x["images"]})
    assert check_config_round_trip(paired).paired


def test_without_branch_it_is_keras_efficientnet_plus_a_dense_logit():
    from keras.src.applications.efficientnet import EfficientNet

    winner = create_model("b7_ssim_tiny", ssim_branch=False)
    reference = EfficientNet(
        0.25, 0.1, 48, include_top=False, weights=None, input_shape=(48, 48, 3), pooling="avg"
    )
    copy_backbone_weights(reference, winner)
    extra = {layer.name for layer in winner.layers if layer.weights} - {
        layer.name for layer in reference.layers if layer.weights
    }
    assert extra == {"logit"}
    x = random_batch(winner, seed=3)
    outputs = check_forward(winner, x)
    assert sorted(outputs) == ["features", "logit"]
    expected = keras.ops.convert_to_numpy(reference(x * 255.0))
    np.testing.assert_allclose(outputs["features"], expected, atol=1e-5)
    kernel, bias = winner.get_layer("logit").get_weights()
    np.testing.assert_allclose(outputs["logit"], expected @ kernel + bias, atol=1e-5)
    assert winner.drop_connect_rate == 0.2 and winner.dropout == 0.0


def test_unnormalize_inverts_the_preset_preprocessing_and_downup_smooths():
    rng = np.random.default_rng(4)
    raw = rng.integers(0, 256, (2, 16, 16, 3)).astype("float32")
    normalised = FacePreprocessor()(raw)
    restored = keras.ops.convert_to_numpy(Unnormalize()(normalised))
    np.testing.assert_allclose(restored, raw / 255.0, atol=1e-5)
    flat = np.full((1, 16, 16, 3), 0.3, "float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(DownUpSample(2)(flat)), 0.3, atol=1e-6)
    noisy = rng.uniform(0, 1, (1, 16, 16, 3)).astype("float32")
    smooth = keras.ops.convert_to_numpy(DownUpSample(2)(noisy))
    assert smooth.shape == noisy.shape and smooth.std() < noisy.std()


def test_bad_input_and_arguments(model):
    with pytest.raises(ValueError, match=r"must be \(batch, 48, 48, 3\) float32; got 4 channels"):
        model(np.zeros((1, 48, 48, 4), "float32"))
    with pytest.raises(ValueError, match="got spatial size 32x32"):
        model(np.zeros((1, 32, 32, 3), "float32"))
    with pytest.raises(ValueError, match="paired=True needs ssim_branch=True"):
        EfficientNetSSIM(0.25, 0.1, input_size=48, ssim_branch=False, paired=True)
    with pytest.raises(ValueError, match="mean and std need 3 values"):
        EfficientNetSSIM(0.25, 0.1, input_size=48, std=(0.2, 0.2))


@pytest.mark.slow  # about 60-90 s of CPU here: JAX builds every variable op by op on load
def test_tiny_models_saved_under_tensorflow_run_the_same_under_jax(model, tmp_path):
    autoatt = create_model("autoatt_b4_tiny")
    cases = {"b7_ssim_tiny": model, "autoatt_b4_tiny": autoatt}
    for name, m in cases.items():
        x = random_batch(m, seed=6)
        np.save(tmp_path / f"{name}_x.npy", x)
        np.save(tmp_path / f"{name}_logit.npy", keras.ops.convert_to_numpy(m(x)["logit"]))
        m.save(tmp_path / f"{name}.keras")
    code = textwrap.dedent(
        f"""
        import keras, numpy as np
        import tfdeepfake.models  # registers the serializable classes
        assert keras.backend.backend() == "jax"
        for name in {sorted(cases)!r}:
            m = keras.saving.load_model(r"{tmp_path}/" + name + ".keras")
            x = np.load(r"{tmp_path}/" + name + "_x.npy")
            logit = m.predict(x, verbose=0)["logit"]
            np.save(r"{tmp_path}/" + name + "_jax.npy", np.asarray(logit))
        print("JAX-OK")
        """
    )
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600
    )
    assert "JAX-OK" in result.stdout, result.stderr[-3000:]
    for name in cases:
        np.testing.assert_allclose(
            np.load(tmp_path / f"{name}_jax.npy"),
            np.load(tmp_path / f"{name}_logit.npy"),
            atol=1e-4,
            err_msg=name,
        )


@pytest.mark.slow
def test_full_size_b7_models():
    for name, extra in [("efficientnet_b7", 0), ("b7_ssim", 64)]:
        m = create_model(name)
        print(f"{name} parameters: {m.count_params():,}")
        outputs = check_forward(m, random_batch(m, batch=1))
        assert outputs["features"].shape == (1, 2560 + extra)
        assert 63_000_000 < m.count_params() < 66_000_000
    check_attention(outputs, batch=1, size=48)
    assert m.attention_block == "block3g"
