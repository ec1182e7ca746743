"""The compiled scoring path (tfdeepfake.inference.compiled): uint8 crops in, the re-crop,
resize, normalisation and model compiled together; equal to the plain model call on the
TensorFlow-prepared inputs, for every tiny family, with padded batches and few traces."""

import numpy as np
import pytest

from tfdeepfake.faces.crop import STORED_MARGIN, stored_crop_size
from tfdeepfake.inference.compiled import CompiledForward, batch_shape, pad_batch, resize_plan
from tfdeepfake.inference.inputs import model_inputs
from tfdeepfake.inference.scorers import KerasScorer


def _crops(preset, n, seed=0):
    side = stored_crop_size(preset)
    return np.random.default_rng(seed).integers(0, 256, (n, side, side, 3), dtype=np.uint8)


def _landmarks(n, side):
    """Five plausible face points (eyes, nose, mouth corners) in crop pixels."""
    points = np.array([[0.38, 0.42], [0.62, 0.42], [0.5, 0.55], [0.41, 0.66], [0.59, 0.66]])
    return np.tile((points * side).reshape(1, 10), (n, 1)).astype(np.float32)


def _steep(name):
    """Preset ``name`` built from a fixed seed, with large random head weights: random init
    alone gives logits ~1e-5 apart, too close for a wrong crop to show (and an unseeded build
    once gave a spread of 0.0498)."""
    import keras

    from tfdeepfake import create_model

    keras.utils.set_random_seed(8)
    model = create_model(name)
    rng = np.random.default_rng(8)
    for v in model.variables:
        if v.path.endswith(("logit/kernel", "classifier/kernel")):
            v.assign(rng.normal(0, 1000, v.shape).astype(np.float32))
    return model


@pytest.mark.parametrize("name", ["autoatt_b4_tiny", "b7_ssim_tiny", "gend_clip_tiny"])
def test_compiled_frames_equal_the_plain_model_call(name):
    model = _steep(name)
    crops = _crops(model.preset, 5, seed=3)
    marks = _landmarks(5, crops.shape[1]) if model.preset.crop_mode == "aligned" else None
    scorer = KerasScorer(model, model.preset)
    expected = np.asarray(model(model_inputs(crops, STORED_MARGIN, model.preset, marks),
                                training=False)["logit"]).reshape(-1)
    pixels, fraction = scorer.device_pixels(crops, STORED_MARGIN, marks)
    assert pixels.dtype == (np.float32 if marks is not None else np.uint8)
    got = scorer.compiled(pixels, fraction)["logit"].reshape(-1)
    np.testing.assert_allclose(got, expected, atol=2e-4, rtol=1e-4)
    assert np.ptp(expected) > 0.05, expected  # the faces differ, so a wrong crop would show


def test_compiled_clip_models_equal_the_plain_model_call():

    lstm = _steep("resnet_lstm_tiny")
    crops = _crops(lstm.preset, lstm.preset.frames, seed=4)
    expected = lstm(model_inputs(crops, STORED_MARGIN, lstm.preset)[None], training=False)
    pixels, fraction = KerasScorer(lstm, lstm.preset).device_pixels(crops, STORED_MARGIN)
    got = CompiledForward(lstm, lstm.preset)(pixels[None], fraction)
    for key in ("logit", "frame_logits"):
        np.testing.assert_allclose(got[key], np.asarray(expected[key]), atol=2e-4, rtol=1e-4)

    ensemble = _steep("ensemble_tiny")  # takes unnormalised pixels at its input size
    side = ensemble.preset.input_size
    clips = np.random.default_rng(5).integers(0, 256, (2, 3, side, side, 3), dtype=np.uint8)
    expected = ensemble(clips.astype(np.float32), training=False)
    got = CompiledForward(ensemble, ensemble.preset)(clips, None)
    assert set(got) == {"logit", "frame_logits"}
    for key in got:
        np.testing.assert_allclose(got[key], np.asarray(expected[key]), atol=2e-4, rtol=1e-4)


def test_resize_plan_samples_like_crop_and_resize():
    from tfdeepfake.data.crops import recrop

    image = np.random.default_rng(6).uniform(0, 255, (1, 53, 53, 1)).astype(np.float32)
    for fraction, size in ((0.7, 24), (1.0, 53), (0.9, 80)):  # TF places in float32: 2e-3 off
        first, second, weight = resize_plan(53, fraction, size)
        w = weight[:, None, None]
        rows = image[0, first] * (1 - w) + image[0, second] * w
        ours = rows[:, first] * (1 - w[None, :, :, 0]) + rows[:, second] * w[None, :, :, 0]
        np.testing.assert_allclose(ours, recrop(image, fraction, size).numpy()[0], atol=5e-3)
    with pytest.raises(ValueError, match="crop fraction"):
        resize_plan(53, 1.5, 24)


def test_any_batch_size_is_one_trace_on_tensorflow_without_a_retracing_warning(caplog):
    """TensorFlow takes a free batch dimension: batches of many sizes share one graph (no
    padding there) and score as the rows alone; TensorFlow's retracing warning, which does
    show for a function traced per shape, never comes, with many models either."""
    import logging

    import tensorflow as tf


    caplog.set_level(logging.WARNING, logger="tensorflow")  # the CLI's tests set ERROR
    per_shape = tf.function(lambda x: x + 1)
    for n in range(1, 8):
        per_shape(tf.zeros((n, 2)))
    assert "retracing" in caplog.text  # the warning is caught here when it happens
    caplog.clear()

    model = _steep("autoatt_b4_tiny")
    scorer = KerasScorer(model, model.preset)
    assert not scorer.compiled.static_shapes
    crops = _crops(model.preset, 16, seed=7)
    alone = [scorer.score(crops[i : i + 1], STORED_MARGIN)[1][0] for i in range(3)]
    for n in (13, 11, 9, 12, 3, 16, 7, 1, 2, 5, 10):  # last batches of 1 to 8 faces
        _, frames = scorer.score(crops[:n], STORED_MARGIN, batch_size=8)
        assert len(frames) == n and np.isfinite(frames).all()
        np.testing.assert_allclose(frames[:3], alone[:n], atol=1e-5, rtol=1e-4)
    _, sixteen = scorer.score(crops, STORED_MARGIN, batch_size=16)
    np.testing.assert_allclose(sixteen[:13], scorer.score(crops[:13], STORED_MARGIN)[1],
                               atol=1e-5, rtol=1e-4)
    assert scorer.compiled.traces == 1  # one crop shape and dtype
    for _ in range(6):  # many models' first traces (TensorFlow counts per function code)
        KerasScorer(model, model.preset).score(crops[:2], STORED_MARGIN)
    assert "retracing" not in caplog.text, caplog.text


def test_padding_keeps_scores_and_few_batch_shapes():
    """Where each batch shape compiles on its own (JAX), batches are padded: padded rows
    leave the real rows' scores as they were, and batch sizes map to few shapes."""
    from tfdeepfake import create_model

    model = create_model("autoatt_b4_tiny")
    scorer = KerasScorer(model, model.preset)
    pixels, fraction = scorer.device_pixels(_crops(model.preset, 5, seed=7), STORED_MARGIN)
    alone = scorer.compiled(pixels[:3], fraction)["logit"].reshape(-1)
    padded = scorer.compiled(pad_batch(pixels[:3], 8), fraction)["logit"].reshape(-1)
    np.testing.assert_allclose(padded[:3], alone, atol=1e-5)
    assert [batch_shape(n, 8) for n in (1, 2, 3, 5, 8)] == [1, 2, 4, 8, 8]
    assert batch_shape(5, 6) == 6 and len(pad_batch(pixels[:5], 8)) == 8


_JAX_SCORING = """
import json, sys
sys.modules["tensorflow"] = None  # as on a GPU machine with JAX only
import numpy as np
from tfdeepfake.models import create_model
from tfdeepfake.inference.scorers import KerasScorer
model = create_model("autoatt_b4_tiny")
model.load_weights(sys.argv[1] + "/m.weights.h5")
crops = np.load(sys.argv[1] + "/crops.npy")
scorer = KerasScorer(model, model.preset)
frames = [scorer.score(crops[:n], batch_size=4)[1].tolist() for n in (7, 5)]
print("RESULTS " + json.dumps({"frames": frames, "traces": scorer.compiled.traces}))
"""


@pytest.mark.slow  # JAX compiles on the CPU: 75 s on the loaded 2-core VM
def test_jax_scoring_without_tensorflow_equals_tensorflow_scores(tmp_path):
    """The compiled path on JAX, with TensorFlow unimportable, gives the TF backend's scores
    for the same weights and crops, and compiles each batch shape once."""
    import json
    import os
    import subprocess
    import sys


    model = _steep("autoatt_b4_tiny")
    model.save_weights(tmp_path / "m.weights.h5")
    crops = _crops(model.preset, 7, seed=9)
    np.save(tmp_path / "crops.npy", crops)
    expected = KerasScorer(model, model.preset).score(crops, batch_size=4)[1]
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-c", _JAX_SCORING, str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=600)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULTS ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    got = json.loads(lines[-1][len("RESULTS "):])
    np.testing.assert_allclose(got["frames"][0], expected, atol=1e-4)
    np.testing.assert_allclose(got["frames"][1], expected[:5], atol=1e-4)
    assert got["traces"] == 2  # batches of 4, 4 (3 padded), 4 and 1: shapes 4 and 1
