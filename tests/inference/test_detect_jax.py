"""`KERAS_BACKEND=jax tfdeepfake detect VIDEO --weights RUNS` end to end: faces found by MTCNN
in a TensorFlow child process, the models scored by jax.jit in a parent that never imports
TensorFlow, and the same scores as the TensorFlow backend on the same weights and video.

One subprocess (the backend is fixed at import) runs the command; this process runs the same
detection on TensorFlow as the reference.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("jax", reason="the [jax] extra is not installed")

_DETECT = """
import sys
from tfdeepfake.cli import main
code = main(["detect", *sys.argv[1:]])
print("TENSORFLOW IMPORTED", "tensorflow" in sys.modules)
sys.exit(code)
"""

# Scores of the two backends agree to float32 rounding through different kernels; 1e-4 in
# probability is far below anything a verdict or a ranking depends on.
TOLERANCE = 1e-4
FRAMES = 4


def test_detect_on_jax_equals_tensorflow(tiny_runs, sample_media, tmp_path):
    from tfdeepfake.inference import Detector

    video = str(sample_media["single_face.mp4"])
    missing = str(tmp_path / "missing.mp4")
    out = tmp_path / "jax.json"
    # XLA's CPU optimisation off: compiling dominates on these tiny models (see
    # tests/models/test_jax_backend.py); no assertion depends on how fast the code runs.
    xla_flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_backend_optimization_level=0"
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu",
           "XLA_FLAGS": xla_flags.strip()}
    proc = subprocess.run(
        [sys.executable, "-c", _DETECT, video, missing, "--weights", tiny_runs,
         "--frames", str(FRAMES), "--json", str(out), "--quiet"],
        env=env, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 1, proc.stderr[-4000:]  # 1: the missing input has an ERROR row
    assert "TENSORFLOW IMPORTED False" in proc.stdout  # only the face-finding child has it
    got = json.loads(out.read_text())["results"]

    expected = Detector(weights=tiny_runs, frames=FRAMES).predict([video, missing])
    assert [r["verdict"] for r in got][1] == "ERROR" and "missing" in got[1]["error"]
    scored, reference = got[0], expected[0]
    assert scored["faces"] == reference.faces == 1
    assert set(scored["model_scores"]) == set(reference.model_scores) and len(
        reference.model_scores) == 3
    for name, score in reference.model_scores.items():
        assert abs(scored["model_scores"][name] - score) < TOLERANCE, name
    np.testing.assert_allclose(scored["score"], reference.score, atol=TOLERANCE)
    for ours, theirs in zip(scored["tracks"], reference.tracks):
        for name, frames in theirs.frame_scores.items():
            np.testing.assert_allclose(
                np.array(ours["frame_scores"][name], float), np.array(frames, float),
                atol=TOLERANCE)
    if abs(reference.score - 0.5) > TOLERANCE:  # random weights: the score sits near 0.5
        assert scored["verdict"] == reference.verdict
