"""Serving caps: batch size, image sides and encoded size are checked in the graph before
the expensive work, with messages that name the cap."""

import struct
import zlib

import numpy as np
import pytest
import tensorflow as tf

from tfdeepfake.export.signatures import MAX_ENCODED_BYTES, MAX_IMAGES, MAX_SIDE, build_functions


@pytest.fixture(scope="module")
def serving():
    from tfdeepfake import create_model

    model = create_model("autoatt_b4_tiny")
    return {name: tf.function(fn, input_signature=spec)
            for name, (fn, spec) in build_functions(model, model.preset).items()}


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
