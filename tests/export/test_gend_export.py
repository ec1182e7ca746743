"""GenD exports: the SavedModel served in a clean interpreter and the TFLite files (float,
fp16; int8 measured) against the Keras model, on aligned faces (slow: 30-90 s each here)."""

import keras
import numpy as np
import pytest
from export_isolation import round_trip

from tfdeepfake import create_model
from tfdeepfake.data.align import align_faces_uint8
from tfdeepfake.export.parity import parity_report
from tfdeepfake.export.saved_model import export_saved_model
from tfdeepfake.export.signatures import model_input
from tfdeepfake.export.tflite import export_tflite
from tfrecords_tools.schema import LABEL_FAKE
from tfrecords_tools.synthetic import synthetic_track


def _aligned_faces(model, count: int, seed: int) -> np.ndarray:
    """Drawn faces aligned by their landmarks: what an aligned preset's export takes."""
    track = synthetic_track("v", LABEL_FAKE, frames=count, size=64, seed=seed)
    return align_faces_uint8(track.crops, track.landmarks, model.preset.input_size)


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return create_model("gend_clip_tiny")


@pytest.mark.slow
def test_saved_model_serves_the_keras_logits(model, tmp_path):
    faces = _aligned_faces(model, 3, 1)
    exported = export_saved_model(model, tmp_path / "saved")
    got = round_trip({"gend_clip_tiny": (exported, faces)}, tmp_path / "clean")["gend_clip_tiny"]
    ref = keras.ops.convert_to_numpy(model(model_input(faces, model.preset))["logit"])
    for prefix in ("pixels_", "encoded_"):
        np.testing.assert_allclose(got[prefix + "logit"], ref, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("quantize", ["none", "fp16"])
def test_tflite_matches_keras(model, quantize, tmp_path):
    faces = _aligned_faces(model, 16, 2)
    [result] = export_tflite(model, tmp_path, quantize)
    report = parity_report(model, model.preset, result.path, faces)
    assert report["within_tolerance"], report


@pytest.mark.slow
def test_int8_is_measured(model, tmp_path, record_property):
    faces = _aligned_faces(model, 32, 3)
    [result] = export_tflite(model, tmp_path, "int8", calibration=faces[:16])
    report = parity_report(model, model.preset, result.path, faces[16:])
    record_property("int8_relative_logit_error", report["relative_logit_diff"])
    assert np.isfinite(report["relative_logit_diff"])
