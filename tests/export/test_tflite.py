"""TFLite (LiteRT) conversion of the tiny AutoAttB4 by `tfdeepfake export`: float32 and int8
calibrated on TFRecord face crops, parity reports, running without TensorFlow,
LiteRTRunner input checks, calibration data loading."""

import json

import numpy as np
import pytest
from export_isolation import run_clean

from tfdeepfake import create_model
from tfdeepfake.export.calibration import load_faces
from tfdeepfake.export.parity import (
    TOLERANCES,
    keras_outputs,
    parity_report,
    recalibrate_batchnorm,
)
from tfdeepfake.export.runtime import LiteRTRunner
from tfdeepfake.export.tflite import export_tflite
from tfdeepfake.models.batchnorm import batch_norm_layers

# LiteRT alone: TensorFlow is made unimportable before anything runs.
LITERT_SCRIPT = """
import json, sys
sys.modules["tensorflow"] = None
import numpy as np
from ai_edge_litert.interpreter import Interpreter
faces = np.load("faces.npy")
result = {{}}
for name in {names!r}:
    interpreter = Interpreter(model_path=name, num_threads=1)
    runner = interpreter.get_signature_runner("serving_default")
    out = runner(pixels=faces)
    np.save(name + ".logit.npy", out["logit"])
    result[name] = {{"outputs": sorted(out)}}
print(json.dumps(result))
"""


@pytest.fixture(scope="module")
def converted(tiny_b4_tflite):
    """The session's tiny AutoAttB4 .tflite files (tests/conftest.py: written once, also
    run by `detect --runtime tflite` in tests/inference)."""
    return tiny_b4_tflite


def test_cli_wrote_parity_reports(converted):
    reports = converted["reports"]
    for q, report in reports.items():
        assert report["quantize"] == q and report["faces"] == 24
        assert report["data"].endswith("shards") and report["keras_logit_range"] > 0.1
        assert {"keras_auc", "tflite_auc", "auc_diff", "max_abs_attention_diff"} <= set(report)
        assert report["within_tolerance"] == (report["relative_logit_diff"] <= TOLERANCES[q])
    # Exit code 1 exactly when a conversion exceeds its tolerance.
    assert converted["code"] == (0 if all(r["within_tolerance"] for r in reports.values()) else 1)


def test_calibration_faces_from_shards(converted):
    faces = converted["faces"]
    assert faces.images.shape == (24, 32, 32, 3) and faces.images.dtype == np.uint8
    assert faces.labelled and sorted(set(faces.labels.tolist())) == [0, 1]


def test_calibration_reads_shards_in_split_sub_folders(converted, tmp_path):
    import shutil

    for split in ("train", "test"):
        shutil.copytree(converted["root"] / "shards", tmp_path / split)
    faces = load_faces(tmp_path, converted["model"].preset, limit=100)
    assert len(faces.images) == 2 * len(converted["faces"].images)


def test_float32_matches_keras(converted):
    result = converted["results"]["none"]
    assert result.path.name == "autoatt_b4_tiny.none.tflite" and not result.float_fallback
    model, faces = converted["model"], converted["faces"]
    report = parity_report(model, model.preset, result.path, faces.images, faces.labels)
    assert report["within_tolerance"] and report["relative_logit_diff"] <= TOLERANCES["none"]
    assert abs(report["auc_diff"]) < 1e-6
    meta = json.loads(result.metadata_path.read_text())
    assert meta["quantize"] == "none" and meta["contract"]["input_size"] == 32
    assert meta["outputs"] == ["logit", "probability", "attention"]


def test_int8_is_integer_inside_and_takes_uint8(converted):
    """Random tiny weights are the int8 worst case (docs/export.md gives the figures); here
    the file must be full-integer, smaller, and give finite logits and maps in [0, 1]."""
    results = converted["results"]
    assert not results["int8"].float_fallback
    assert results["int8"].size_bytes < 0.6 * results["none"].size_bytes
    runner = LiteRTRunner(results["int8"].path)
    assert runner.interpreter.get_input_details()[0]["dtype"] == np.uint8
    ops = {d["op_name"] for d in runner.interpreter._get_ops_details()}
    assert "QUANTIZE" in ops and "DEQUANTIZE" in ops
    out = runner.predict(converted["faces"].images)
    assert out["logit"].shape == (24,) and np.isfinite(out["logit"]).all()
    assert ((out["attention"] >= 0) & (out["attention"] <= 1)).all()


def test_runs_without_tensorflow(converted, tmp_path):
    faces = converted["faces"].images[:4]
    for result in converted["results"].values():
        (tmp_path / result.path.name).write_bytes(result.path.read_bytes())
    np.save(tmp_path / "faces.npy", faces)
    names = [r.path.name for r in converted["results"].values()]
    out = run_clean(LITERT_SCRIPT.format(names=names), tmp_path)
    for result in converted["results"].values():
        assert out[result.path.name]["outputs"] == ["attention", "logit", "probability"]
        logit = np.load(tmp_path / f"{result.path.name}.logit.npy").reshape(-1)
        expected = LiteRTRunner(result.path).predict(faces)["logit"]
        np.testing.assert_allclose(logit, expected, atol=1e-6)
    reference = keras_outputs(converted["model"], converted["model"].preset, faces)["logit"]
    none = np.load(tmp_path / "autoatt_b4_tiny.none.tflite.logit.npy").reshape(-1)
    assert np.abs(none - reference).max() <= TOLERANCES["none"] * np.ptp(reference) + 1e-6


def test_runner_resizes_and_rejects_bad_input(converted):
    runner = LiteRTRunner(converted["results"]["none"].path, num_threads=1)
    assert (runner.input_size, runner.sequence, runner.quantize) == (32, False, "none")
    out = runner.predict(np.zeros((3, 50, 40, 3), np.uint8))
    assert out["logit"].shape == (3,) and out["attention"].shape == (3, 4, 4)
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\) uint8 RGB.*images\[None\]"):
        runner.predict(np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(ValueError, match="must be uint8"):
        runner.predict(np.zeros((1, 32, 32, 3), np.float32))
    with pytest.raises(FileNotFoundError, match="tfdeepfake export"):
        LiteRTRunner(converted["root"] / "missing.tflite")


def test_int8_without_calibration_is_refused(converted):
    with pytest.raises(ValueError, match="--calibration"):
        export_tflite(converted["model"], converted["root"] / "x", "int8", None)
    assert not (converted["root"] / "x").exists()


def test_image_folder_with_labels_and_a_broken_file(converted, tmp_path):
    import cv2

    for label in ("real", "fake"):
        (tmp_path / label).mkdir()
        for i in range(2):
            face = converted["faces"].images[i]
            cv2.imwrite(str(tmp_path / label / f"{i}.png"), face[..., ::-1])
    (tmp_path / "fake" / "broken.jpg").write_bytes(b"not a jpeg")
    faces = load_faces(tmp_path, converted["model"].preset)
    assert faces.images.shape == (4, 32, 32, 3)
    assert sorted(faces.labels.tolist()) == [0, 0, 1, 1]
    assert len(faces.skipped) == 1 and "broken.jpg" in faces.skipped[0]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_faces(tmp_path / "nope", converted["model"].preset)


def test_batchnorm_recalibration_in_batches_weights_every_face(converted):
    """Batches of any size (here 3 + 3 + 2 faces) leave the first BatchNorm with the mean of
    all faces, as one pass over all of them would: the first layer's input does not depend
    on earlier statistics, so its moving mean is exactly comparable."""
    import keras

    faces = converted["faces"].images[:8]
    model = create_model("autoatt_b4_tiny")
    weights = model.get_weights()
    means = {}
    for batch_size in (8, 3):
        model.set_weights(weights)
        recalibrate_batchnorm(model, model.preset, faces, batch_size=batch_size)
        first = batch_norm_layers(model)[0]  # the layers recalibrate_batchnorm sets
        means[batch_size] = keras.ops.convert_to_numpy(first.moving_mean)
        assert first.momentum == 0.99  # restored
    assert np.abs(means[8]).max() > 1e-3  # moved from the initial zeros
    np.testing.assert_allclose(means[3], means[8], rtol=1e-4, atol=1e-6)
