"""Every tiny preset loads, runs and learns under the JAX backend (the GPU path: plain Keras
`fit`, jit-compiled by JAX), and `KERAS_BACKEND=jax tfdeepfake detect VIDEO --weights RUNS`
gives the TensorFlow backend's scores.

One subprocess (the backend is fixed at import time) does the JAX work; it runs `detect`
first (faces found by MTCNN in a TensorFlow child process, the models scored by jax.jit, and
TensorFlow never imported by the subprocess itself), then the presets, whose weight
initializers it has compiled by then (one subprocess instead of two). This process saves
the tiny ensemble under TensorFlow; it holds one tiny model of every detector family, so
reloading it under JAX builds each of them from its config, its jitted forward pass
(`predict_on_batch`) runs each, and a few `fit` epochs on its logit, on clips whose fakes
are brighter, train each (every member's weights change and the loss falls). A tiny preset
whose family is not in the ensemble is built, run and trained on its own the same way. Each
family's training step is compiled once (this test took the place of a second one that
trained the members again, one by one).
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("jax", reason="the [jax] extra is not installed")

from tfdeepfake.models import create_model, get_preset, list_models  # noqa: E402

_SCRIPT = r"""
import json, sys
import keras, numpy as np
from tfdeepfake.models import create_model, get_preset, list_models

assert keras.backend.backend() == "jax", keras.backend.backend()
folder = sys.argv[1]

# detect first: nothing before it has imported TensorFlow in this process.
from tfdeepfake.cli import main
code = main(["detect", *sys.argv[2:]])
detect = {"code": code, "tensorflow_imported": "tensorflow" in sys.modules}
bce = keras.losses.BinaryCrossentropy(from_logits=True)


# 8 inputs of `shape` in [low, high), labels alternating; the fakes are `brighter`.
def learnable(shape, low, high, brighter):
    rng = np.random.default_rng(0)
    y = (np.arange(8) % 2).astype("float32")[:, None]
    x = rng.uniform(low, high, size=(8, *shape)).astype("float32")
    x[y[:, 0] == 1] += brighter
    return x, y


# Six epochs of two steps: the loss of each epoch and how many weights of each part moved.
def train(model, x, y, parts):
    keras.utils.set_random_seed(0)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss={"logit": bce})
    before = {k: [np.array(w) for w in m.trainable_weights] for k, m in parts.items()}
    history = model.fit(x, {"logit": y}, batch_size=4, epochs=6, verbose=0, shuffle=False)
    changed = {
        k: sum(not np.array_equal(b, np.array(a)) for b, a in zip(before[k], m.trainable_weights))
        for k, m in parts.items()
    }
    return {"losses": [float(v) for v in history.history["loss"]], "changed": changed}


# Importing tfdeepfake.models is all a fresh process needs to load a saved model.
saved = np.load(f"{folder}/ensemble.npz")
ensemble = keras.saving.load_model(f"{folder}/ensemble.keras")
out = ensemble.predict_on_batch(saved["clips"])
results = {
    "members": list(ensemble.members),
    "reload": {k: float(np.max(np.abs(np.asarray(out[k]) - saved[k]))) for k in out},
    "ensemble_fit": train(ensemble, *learnable((3, 40, 40, 3), 0, 180, 60), ensemble.member_models),
    "alone": {},
    "detect": detect,
}
covered = {get_preset(n).family for n in ensemble.members} | {"ensemble"}
for name in list_models():
    if not name.endswith("_tiny") or get_preset(name).family in covered:
        continue
    model = create_model(name)
    shape = [2 if d is None else d for d in model.inputs[0].shape[1:]]  # (time) 2
    x, y = learnable(shape, -1, 1, 1.0)
    logit = np.asarray(model.predict_on_batch(x[:2])["logit"])
    results["alone"][name] = {
        "logit_shape": list(logit.shape), **train(model, x, y, {name: model})
    }
print("RESULTS " + json.dumps(results))
"""


# Scores of the two backends agree to float32 rounding through different kernels; 1e-4 in
# probability is far below anything a verdict or a ranking depends on.
DETECT_TOLERANCE = 1e-4
DETECT_FRAMES = 4


def test_tiny_presets_and_detect_under_jax(tmp_path, tiny_runs, sample_media):
    ensemble = create_model("ensemble_tiny")
    clips = np.random.default_rng(1).uniform(0, 255, (2, 3, 40, 40, 3)).astype("float32")
    expected = {k: np.asarray(v) for k, v in ensemble(clips, training=False).items()}
    ensemble.save(tmp_path / "ensemble.keras")
    np.savez(tmp_path / "ensemble.npz", clips=clips, **expected)

    # XLA's CPU backend optimisation off: compiling dominates here (building a model under
    # JAX compiles one random initializer per weight shape, ~150 for the tiny ensemble; 60 s
    # -> 25 s), and no assertion depends on how fast the compiled code runs.
    xla_flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_backend_optimization_level=0"
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu",
           "XLA_FLAGS": xla_flags.strip()}  # fmt: skip
    video = str(sample_media["single_face.mp4"])
    missing = str(tmp_path / "missing.mp4")
    detect_args = [video, missing, "--weights", tiny_runs, "--frames", str(DETECT_FRAMES),
                   "--json", str(tmp_path / "jax.json"), "--quiet"]
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(tmp_path), *detect_args],
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,  # a hang guard only: on a loaded 2-core machine this took 12 min
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULTS ")]
    assert proc.returncode == 0 and lines, proc.stderr[-4000:]
    results = json.loads(lines[-1][len("RESULTS ") :])

    assert set(results["reload"]) == set(expected)
    assert max(results["reload"].values()) < 1e-4, results["reload"]
    fit = results["ensemble_fit"]
    assert np.isfinite(fit["losses"]).all() and fit["losses"][-1] < fit["losses"][0], fit
    assert all(count > 0 for count in fit["changed"].values()), fit["changed"]
    for name, alone in results["alone"].items():
        assert alone["logit_shape"] == [2, 1], name
        assert alone["losses"][-1] < alone["losses"][0], (name, alone["losses"])
        assert alone["changed"][name] > 0, name
    tiny = {n for n in list_models() if n.endswith("_tiny")}
    assert tiny == {"ensemble_tiny", *results["members"], *results["alone"]}
    families = {get_preset(n).family for n in tiny}
    assert {"resnet_lstm", "autoatt_b4", "b7_ssim", "ensemble"} <= families
    _check_detect(results["detect"], tmp_path / "jax.json", tiny_runs, video, missing)


def _check_detect(detect, out, tiny_runs, video, missing):
    """The JAX run's detect results against the same detection on TensorFlow, here."""
    from tfdeepfake.inference import Detector

    assert detect["code"] == 1, detect  # 1: the missing input has an ERROR row
    assert not detect["tensorflow_imported"]  # only the face-finding child had it
    document = json.loads(out.read_text())
    assert document["backend"] == "jax"
    got = document["results"]
    expected = Detector(weights=tiny_runs, frames=DETECT_FRAMES).predict([video, missing])
    assert got[1]["verdict"] == "ERROR" and got[1]["error"].startswith("missing")
    scored, reference = got[0], expected[0]
    assert scored["faces"] == reference.faces == 1
    assert set(scored["model_scores"]) == set(reference.model_scores)
    assert len(reference.model_scores) == 3
    for name, score in reference.model_scores.items():
        assert abs(scored["model_scores"][name] - score) < DETECT_TOLERANCE, name
    assert abs(scored["score"] - reference.score) < DETECT_TOLERANCE
    for ours, theirs in zip(scored["tracks"], reference.tracks, strict=True):
        for name, frames in theirs.frame_scores.items():
            np.testing.assert_allclose(np.array(ours["frame_scores"][name], float),
                                       np.array(frames, float), atol=DETECT_TOLERANCE)
    if abs(reference.score - 0.5) > DETECT_TOLERANCE:  # random weights: near 0.5
        assert scored["verdict"] == reference.verdict
