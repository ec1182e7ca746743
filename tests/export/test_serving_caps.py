"""Serving caps: batch size, image sides and encoded size are checked in the graph before
the expensive work, with messages that name the cap; they are export-time options."""

import struct
import zlib

import numpy as np
import pytest
import tensorflow as tf

from tfdeepfake.export.caps import MAX_ENCODED_BYTES, MAX_IMAGES, MAX_SIDE, ServingCaps
from tfdeepfake.export.signatures import build_functions


@pytest.fixture(scope="module")
def model():
    from tfdeepfake import create_model

    return create_model("autoatt_b4_tiny")


def _serving(model, caps=None):
    return {name: tf.function(fn, input_signature=spec)
            for name, (fn, spec) in build_functions(model, model.preset, caps).items()}


@pytest.fixture(scope="module")
def serving(model):
    return _serving(model)


def _png_header(width, height):
    """A PNG signature and IHDR claiming ``width`` x ``height`` (no pixel data)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk


def test_pixels_within_caps_are_scored(serving):
    out = serving["serving_default"](tf.zeros([2, 40, 30, 3], tf.uint8))
    assert out["probability"].shape[0] == 2


@pytest.mark.parametrize("shape", [(MAX_IMAGES + 1, 8, 8, 3), (1, MAX_SIDE + 1, 8, 3)])
def test_pixels_past_a_cap_are_refused(serving, shape):
    images = tf.zeros(shape, tf.uint8)
    with pytest.raises(tf.errors.InvalidArgumentError, match="at most"):
        serving["serving_default"](images)


def test_encoded_image_checked_by_its_header_before_decoding(serving):
    huge = _png_header(MAX_SIDE * 4, MAX_SIDE * 4)  # decoding it would need ~800 MB
    with pytest.raises(tf.errors.InvalidArgumentError, match="pixels per side"):
        serving["predict_encoded"](tf.constant([huge]))


def test_encoded_bytes_and_count_caps(serving):
    big = b"\xff\xd8" + b"\0" * (MAX_ENCODED_BYTES + 1)
    with pytest.raises(tf.errors.InvalidArgumentError, match="bytes"):
        serving["predict_encoded"](tf.constant([big]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="encoded images per request"):
        serving["predict_encoded"](tf.constant([b"x"] * (MAX_IMAGES + 1)))


def test_encoded_within_caps_still_decodes(serving):
    image = tf.io.encode_png(np.full((20, 24, 3), 128, np.uint8)).numpy()
    out = serving["predict_encoded"](tf.constant([image, tf.io.encode_jpeg(
        np.zeros((16, 16, 3), np.uint8)).numpy()]))
    assert out["probability"].shape[0] == 2


def test_smaller_caps_chosen_at_export_are_enforced(model):
    caps = ServingCaps(max_batch=2, max_side=32, max_encoded_bytes=2000)
    serving = _serving(model, caps)
    out = serving["serving_default"](tf.zeros([2, 32, 20, 3], tf.uint8))
    assert out["probability"].shape[0] == 2
    for shape, words in (((3, 8, 8, 3), "at most 2 images"), ((1, 33, 8, 3), "32 pixels")):
        with pytest.raises(tf.errors.InvalidArgumentError, match=words):
            serving["serving_default"](tf.zeros(shape, tf.uint8))
    image = tf.io.encode_png(np.full((20, 24, 3), 128, np.uint8)).numpy()
    assert serving["predict_encoded"](tf.constant([image]))["probability"].shape[0] == 1
    with pytest.raises(tf.errors.InvalidArgumentError, match="larger than 32 pixels per side"):
        serving["predict_encoded"](tf.constant([_png_header(40, 20)]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="larger than 2000 bytes"):
        serving["predict_encoded"](tf.constant([b"\xff\xd8" + b"\0" * 2001]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="at most 2 encoded images"):
        serving["predict_encoded"](tf.constant([image] * 3))


@pytest.mark.parametrize("bad", [{"max_batch": 0}, {"max_side": -1}, {"max_encoded_bytes": 1.5}])
def test_caps_must_be_positive_whole_numbers(bad):
    with pytest.raises(ValueError, match="--max-"):
        ServingCaps(**bad)


def test_caps_are_recorded_in_the_metadata(model):
    from tfdeepfake.export.saved_model import metadata

    caps = ServingCaps(max_batch=3, max_side=64, max_encoded_bytes=100000)
    meta = metadata(model, model.preset, "m", 1, None, caps)
    assert meta["serving_caps"] == {"max_batch": 3, "max_side": 64, "max_encoded_bytes": 100000}
    assert meta["signatures"]["predict_encoded"]["caps"]["max_encoded_bytes"] == 100000
    assert meta["signatures"]["serving_default"]["caps"] == {"max_batch": 3, "max_side": 64}
    default = metadata(model, model.preset, "m", 1, None)["serving_caps"]
    assert default == {"max_batch": MAX_IMAGES, "max_side": MAX_SIDE,
                       "max_encoded_bytes": MAX_ENCODED_BYTES}


def test_export_cli_refuses_bad_caps(tmp_path, capsys):
    from tfdeepfake.cli import main

    base = ["export", "--model", "autoatt_b4_tiny", "--out", str(tmp_path)]
    assert main([*base, "--max-encoded-bytes", "0"]) == 2
    assert "max_encoded_bytes (--max-encoded-bytes) must be" in capsys.readouterr().err
    assert main([*base, "--format", "keras", "--max-side", "64"]) == 2
    assert "apply to --format saved_model only" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_export_cli_records_and_enforces_its_caps(tmp_path, capsys):
    from tfdeepfake.cli import main
    from tfdeepfake.export.saved_model import read_metadata

    out = tmp_path / "saved"
    argv = ["export", "--model", "autoatt_b4_tiny", "--out", str(out), "--max-batch", "3",
            "--max-side", "64", "--max-encoded-bytes", "100000"]
    assert main(argv) == 0
    assert "Serving caps: 3 images per request, 64 px per side" in capsys.readouterr().out
    version = out / "autoatt_b4_tiny" / "1"
    assert read_metadata(version)["serving_caps"]["max_batch"] == 3
    serve = tf.saved_model.load(str(version)).signatures["serving_default"]
    assert serve(images=tf.zeros([3, 64, 64, 3], tf.uint8))["probability"].shape[0] == 3
    with pytest.raises(tf.errors.InvalidArgumentError, match="at most 3 images"):
        serve(images=tf.zeros([4, 8, 8, 3], tf.uint8))


def test_export_saved_model_takes_caps_as_a_dict_or_says_what_it_takes(tmp_path):
    from tfdeepfake import create_model
    from tfdeepfake.export import export_saved_model

    model = create_model("autoatt_b4_tiny")
    with pytest.raises(TypeError, match="max_btch"):  # a misspelled cap is named
        export_saved_model(model, tmp_path, caps={"max_btch": 2})
    with pytest.raises(TypeError, match="caps must be a ServingCaps or a dict"):
        export_saved_model(model, tmp_path, caps=2)
