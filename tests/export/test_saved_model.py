"""SavedModel export of the tiny AutoAttB4 and ResNeXt-LSTM: TF Serving layout, signatures,
reload in a clean process, graph errors on bad input, saved_model_cli show/run, versions."""

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from export_isolation import ROUND_TRIP_SCRIPT, clean_env, run_clean

from tfdeepfake import create_model, get_preset
from tfdeepfake.export.saved_model import export_saved_model, next_version, read_metadata
from tfdeepfake.models import preprocessor_for
from tfdeepfake.models.base import DeepfakeModel
from tfrecords_tools.synthetic import draw_face

CLEAN_SCRIPT = """
import json, numpy as np, tensorflow as tf
loaded = tf.saved_model.load("{path}")
sigs = loaded.signatures
faces = np.load("faces.npy"); odd = np.load("odd.npy")
encoded = tf.constant([tf.io.encode_png(f).numpy() for f in faces])
outs = {{}}
for key, value in sigs["serving_default"](images=tf.constant(faces)).items():
    outs["faces_" + key] = value.numpy()
for key, value in sigs["serving_default"](images=tf.constant(odd)).items():
    outs["odd_" + key] = value.numpy()
for key, value in sigs["predict_encoded"](encoded=encoded).items():
    outs["encoded_" + key] = value.numpy()
np.savez("outputs.npz", **outs)
errors = {{}}
bad = {{
    "rank3": ("serving_default", "images", faces[0]),
    "gray": ("serving_default", "images", faces[..., :1]),
    "float": ("serving_default", "images", faces.astype(np.float32)),
    "encoded_rank2": ("predict_encoded", "encoded", np.array([[b"x"]])),
    "not_an_image": ("predict_encoded", "encoded", np.array([b"not an image"])),
}}
for name, (sig, arg, value) in bad.items():
    try:
        sigs[sig](**{{arg: tf.constant(value)}})
        errors[name] = None
    except Exception as err:
        errors[name] = type(err).__name__ + ": " + str(err)

# saved_model_cli's own show and run commands, in this process (one TensorFlow start-up).
import contextlib, io
from absl import flags
from tensorflow.python.tools import saved_model_cli


def smcli(*argv):
    flags.FLAGS.unparse_flags()
    args = saved_model_cli.create_parser().parse_args(list(argv))
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        args.func()
    return text.getvalue()


show = smcli("show", "--dir", "{path}", "--all")
smcli("run", "--dir", "{path}", "--tag_set", "serve", "--signature_def", "serving_default",
      "--inputs", "images=faces.npy", "--outdir", "cli_out")
with open("clean.json", "w") as f:
    json.dump({{"signatures": sorted(sigs), "errors": errors, "show": show}}, f)
"""


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    """The tiny AutoAttB4 exported once; inputs and the Keras model's outputs on them."""
    base = tmp_path_factory.mktemp("saved_models")
    model = create_model("autoatt_b4_tiny")
    rng = np.random.default_rng(0)
    faces = np.stack([draw_face(32, rng, fake=i % 2 == 1)[0] for i in range(3)])
    odd = rng.integers(0, 256, (2, 40, 24, 3), dtype=np.uint8)
    path = export_saved_model(model, base)
    clip_model = create_model("resnet_lstm_tiny")
    clips = np.stack([
        np.stack([draw_face(32, rng, fake=c == 1)[0] for _ in range(8)]) for c in range(2)
    ])  # fmt: skip
    clip = {
        "path": export_saved_model(clip_model, base),
        "pixels": clips,
        "keras": {
            k: keras.ops.convert_to_numpy(v)
            for k, v in clip_model(preprocessor_for(clip_model.preset)(clips)).items()
        },
    }
    keras_faces = model(preprocessor_for(model.preset)(faces), training=False)
    keras_odd = model(preprocessor_for(model.preset, resize=True)(odd), training=False)
    return {
        "path": path,
        "base": base,
        "model": model,
        "faces": faces,
        "odd": odd,
        "clip": clip,
        "keras_faces": {k: keras.ops.convert_to_numpy(v) for k, v in keras_faces.items()},
        "keras_odd": {k: keras.ops.convert_to_numpy(v) for k, v in keras_odd.items()},
    }


@pytest.fixture(scope="module")
def clean_run(export, tmp_path_factory):
    """Run every signature once in a clean interpreter (TensorFlow, no tfdeepfake)."""
    work = tmp_path_factory.mktemp("clean")
    np.save(work / "faces.npy", export["faces"])
    np.save(work / "odd.npy", export["odd"])
    clip = export["clip"]
    np.save(work / "clip.pixels.npy", clip["pixels"])
    items = [{"name": "clip", "path": str(clip["path"]), "pixels": "clip.pixels.npy"}]
    # One clean interpreter for both models: the face model's checks, then the clip model.
    run_clean(CLEAN_SCRIPT.format(path=export["path"]) + ROUND_TRIP_SCRIPT.format(items=items),
              work)  # fmt: skip
    result = json.loads((work / "clean.json").read_text())
    result["outputs"] = dict(np.load(work / "outputs.npz"))
    result["clip_outputs"] = dict(np.load(work / "clip.npz"))
    result["workdir"] = work
    return result


def test_layout_and_metadata(export):
    path = export["path"]
    assert path.parent.name == "autoatt_b4_tiny" and path.name == "1"
    assert (path / "saved_model.pb").is_file() and (path / "variables").is_dir()
    meta = read_metadata(path)
    assert meta["preset"] == "autoatt_b4_tiny" and meta["version"] == 1
    assert meta["contract"]["input_size"] == 32
    assert meta["contract"]["mean"] == list(get_preset("autoatt_b4_tiny").mean)
    assert meta["signatures"]["serving_default"]["outputs"] == ["logit", "probability", "attention"]
    assert not list(path.parent.glob(".export-*")), "temporary export folder left behind"


def test_clean_process_matches_keras(export, clean_run):
    out, ref, odd = clean_run["outputs"], export["keras_faces"], export["keras_odd"]
    assert {"predict_encoded", "serving_default"} <= set(clean_run["signatures"])
    np.testing.assert_allclose(out["faces_logit"], ref["logit"], atol=1e-5)
    np.testing.assert_allclose(out["faces_probability"], 1 / (1 + np.exp(-ref["logit"])), atol=1e-6)
    np.testing.assert_allclose(out["faces_attention"], ref["attention"], atol=1e-5)
    assert out["faces_attention"].shape == (3, 4, 4, 1)
    # Any input size: resized inside the graph exactly as FacePreprocessor(size=32) does.
    np.testing.assert_allclose(out["odd_logit"], odd["logit"], atol=1e-4)
    # PNG is lossless: the encoded-bytes signature gives the same logits.
    np.testing.assert_allclose(out["encoded_logit"], ref["logit"], atol=1e-5)


def test_clip_model_round_trip(export, clean_run):
    """resnet_lstm_tiny: uint8 clips (N, T, H, W, 3) and PNG bytes (N, T) per frame."""
    out, ref = clean_run["clip_outputs"], export["clip"]["keras"]
    assert export["clip"]["path"].parent.name == "resnet_lstm_tiny"
    for prefix in ("pixels_", "encoded_"):
        np.testing.assert_allclose(out[prefix + "logit"], ref["logit"], atol=1e-5)
        np.testing.assert_allclose(out[prefix + "frame_logits"], ref["frame_logits"], atol=1e-5)
    meta = read_metadata(export["clip"]["path"])
    assert meta["signatures"]["serving_default"]["outputs"] == [
        "logit", "probability", "frame_logits"
    ]  # fmt: skip


def test_bad_input_errors_name_the_expected_shape(clean_run):
    errors = clean_run["errors"]
    assert all(errors.values()), f"a bad input was accepted: {errors}"
    assert "[?,?,?,3]" in errors["rank3"]
    assert "uint8 RGB of shape (N, H, W, 3)" in errors["gray"]
    assert "uint8" in errors["float"]
    assert "expected shape [?]" in errors["encoded_rank2"]
    assert "JPEG" in errors["not_an_image"] or "image" in errors["not_an_image"].lower()


def test_saved_model_cli_show(clean_run):
    text = clean_run["show"]
    for name in ("serving_default", "predict_encoded"):
        assert f"signature_def['{name}']" in text
    assert "dtype: DT_UINT8" in text and "dtype: DT_STRING" in text
    for key in ("logit", "probability", "attention"):
        assert f"outputs['{key}']" in text


def test_saved_model_cli_run(export, clean_run):
    logit = np.load(clean_run["workdir"] / "cli_out" / "logit.npy")
    np.testing.assert_allclose(logit, export["keras_faces"]["logit"], atol=1e-5)


@pytest.mark.slow
def test_saved_model_cli_console_script(export, tmp_path):
    """The installed `saved_model_cli` command itself (two more TensorFlow start-ups)."""
    cli = str(Path(sys.executable).parent / "saved_model_cli")
    show = subprocess.run(
        [cli, "show", "--dir", str(export["path"]), "--all"],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=300,
    )
    assert show.returncode == 0 and "signature_def['predict_encoded']" in show.stdout
    np.save(tmp_path / "faces.npy", export["faces"])
    run = subprocess.run(
        [
            cli,
            "run",
            "--dir",
            str(export["path"]),
            "--tag_set",
            "serve",
            "--signature_def",
            "serving_default",
            "--inputs",
            f"images={tmp_path / 'faces.npy'}",
            "--outdir",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    logit = np.load(tmp_path / "out" / "logit.npy")
    np.testing.assert_allclose(logit, export["keras_faces"]["logit"], atol=1e-5)


class StandIn(DeepfakeModel, keras.Model):
    """A two-layer model with the detector protocol: versioning does not depend on size."""


def _standin():
    images = keras.Input((32, 32, 3), name="images")
    pooled = keras.layers.GlobalAveragePooling2D(name="pool")(images)
    model = StandIn(images, {"logit": keras.layers.Dense(1, name="logit")(pooled)})
    model.preset = get_preset("autoatt_b4_tiny")
    return model


def test_each_export_is_a_new_version(tmp_path):
    model = _standin()
    first = export_saved_model(model, tmp_path, name="standin")
    (tmp_path / "standin" / "7").mkdir()  # e.g. a version copied in by hand
    (tmp_path / "standin" / "notes").mkdir()  # non-numeric folders are not versions
    second = export_saved_model(model, tmp_path, name="standin")
    assert (first.name, second.name) == ("1", "8")
    assert next_version(tmp_path / "standin") == 9
    assert (first / "saved_model.pb").is_file()  # the earlier version is untouched
    assert json.loads((second / "assets.extra" / "tfdeepfake.json").read_text())["version"] == 8
    loaded = tf.saved_model.load(str(second))
    out = loaded.signatures["serving_default"](images=tf.zeros((1, 50, 20, 3), tf.uint8))
    assert set(out) == {"logit", "probability"}
