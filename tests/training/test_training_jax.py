"""The GPU path: each tiny detector trains with plain Keras `fit` under the JAX backend."""

import json
import os
import subprocess
import sys

SCRIPT = r"""
import json
import numpy as np
import keras
from tfdeepfake import create_model

assert keras.backend.backend() == "jax"
rng = np.random.default_rng(0)
results = {}
for name in ("autoatt_b4_tiny", "b7_ssim_tiny", "resnet_lstm_tiny"):
    keras.utils.set_random_seed(0)
    model = create_model(name)
    p = model.preset
    shape = (p.frames, p.input_size, p.input_size, 3) if p.sequence else (
        p.input_size, p.input_size, 3)
    y = (np.arange(16) % 2).astype("float32")[:, None]
    x = rng.normal(0, 1, (16, *shape)).astype("float32")
    x[y[:, 0] == 1] += 1.0  # fakes are brighter: learnable in a few steps
    model.compile(optimizer=keras.optimizers.Adam(3e-3),
                  loss={"logit": keras.losses.BinaryCrossentropy(from_logits=True)})
    history = model.fit(x, {"logit": y}, batch_size=8, epochs=6, verbose=0, shuffle=False)
    results[name] = history.history["loss"]
print("RESULT " + json.dumps(results))
"""


def test_tiny_models_fit_under_jax():
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "JAX_PLATFORMS": "cpu",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=1800
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")][-1]
    results = json.loads(line[len("RESULT ") :])
    assert sorted(results) == ["autoatt_b4_tiny", "b7_ssim_tiny", "resnet_lstm_tiny"]
    for name, losses in results.items():
        assert len(losses) == 6
        assert losses[-1] < losses[0], (name, losses)
