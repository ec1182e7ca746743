"""The serving graph: uint8 or encoded images in, checked, resized, normalised, model, outputs.

Every exported signature takes what a client has (uint8 RGB pixels of any size, or JPEG/PNG
bytes), checks the shape inside the graph with ``tf.debugging`` asserts whose messages name
the expected shape, applies the preset's preprocessing contract (resize to ``input_size``;
``crop_mode="pad"`` resizes isotropically and zero-pads; then ``(x / 255 - mean) / std``) and
returns ``logit``, ``probability`` (sigmoid of the logit) and ``attention`` where the model
has one. TensorFlow only: this module is the bridge from Keras to TF Serving and TFLite.

Caps (``ServingCaps``, chosen at export time, recorded in the export's metadata), checked in
the graph before any expensive work (a request past one fails with an
``InvalidArgumentError`` naming the cap): at most ``max_batch`` images per request (N, or
N x T for clips; default 256), sides of at most ``max_side`` pixels (default 4096), and
for ``predict_encoded`` at most ``max_encoded_bytes`` per image (default 16 MiB) and
``max_side`` per side read from the image header before decoding. uint8 pixels are resized
as uint8 (no float32 copy at the input size).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import tensorflow as tf

from tfdeepfake.export.caps import ServingCaps
from tfdeepfake.models.presets import Preset, takes_raw_pixels

# Passed through when the model has them: attention maps (N, h, w, 1), the LSTM's and the
# ensemble's per-frame logits (N, T, ...), the ensemble members' video probabilities (N, M).
OPTIONAL_OUTPUTS = ("attention", "frame_logits", "member_probabilities")

def input_kind(model: keras.Model, preset: Preset) -> str:
    """``"clip"`` for sequence models (N, T, H, W, 3), ``"face"`` for face models (N, H, W, 3)."""
    if len(model.inputs) != 1:
        names = [t.name for t in model.inputs]
        raise ValueError(
            f"Model {preset.name!r} takes {len(model.inputs)} inputs {names}; the exporter "
            "handles models with one image input (faces or clips)."
        )
    rank = len(model.inputs[0].shape)
    if rank not in (4, 5):
        raise ValueError(
            f"Model {preset.name!r} input has rank {rank}; expected (N, H, W, 3) faces or "
            "(N, T, H, W, 3) clips."
        )
    return "clip" if rank == 5 else "face"


def clip_length(model: keras.Model) -> int | None:
    """The fixed clip length T of a sequence model, or None when it takes any length."""
    t = model.inputs[0].shape[1]
    return None if t is None else int(t)


def _check_pixels(images: tf.Tensor, rank: int, expected: str, caps: ServingCaps) -> tf.Tensor:
    """Assert rank and 3 channels inside the graph; returns ``images`` gated by the asserts."""
    assert_rank = tf.debugging.Assert(
        tf.equal(tf.rank(images), rank),
        [f"images must be uint8 RGB of shape {expected}; got shape:", tf.shape(images)],
        name="check_rank",
        summarize=6,
    )
    with tf.control_dependencies([assert_rank]):
        images = tf.identity(images)
    shape = tf.shape(images)
    assert_channels = tf.debugging.Assert(
        tf.logical_and(tf.equal(shape[-1], 3), tf.reduce_all(shape[-3:-1] > 0)),
        [
            f"images must be uint8 RGB of shape {expected} with 3 channels last and H, W > 0; "
            "got shape:",
            shape,
        ],
        name="check_channels",
        summarize=6,
    )
    images_count = tf.reduce_prod(shape[:-3])
    assert_caps = tf.debugging.Assert(
        tf.logical_and(images_count <= caps.max_batch,
                       tf.reduce_all(shape[-3:-1] <= caps.max_side)),
        [
            f"at most {caps.max_batch} images per request and {caps.max_side} pixels per side "
            "(the caps this model was exported with, `tfdeepfake export --max-batch "
            "--max-side`; split the request or shrink the images); got shape:",
            shape,
        ],
        name="check_caps",
        summarize=6,
    )
    with tf.control_dependencies([assert_channels, assert_caps]):
        images = tf.identity(images)
    # Also a static shape for the ops below (TF may infer shapes before running the asserts).
    return tf.ensure_shape(images, [None] * (rank - 1) + [3], name="check_shape")


def _check_clip_length(images: tf.Tensor, frames: int | None, expected: str) -> tf.Tensor:
    """Assert axis 1 (time) has ``frames`` entries when the model fixes the clip length."""
    if frames is None:
        return images
    check = tf.debugging.Assert(
        tf.equal(tf.shape(images)[1], frames),
        [f"clips must have {frames} frames: shape {expected}; got shape:", tf.shape(images)],
        name="check_frames",
        summarize=6,
    )
    with tf.control_dependencies([check]):
        return tf.identity(images)


def _check_count(encoded: tf.Tensor, caps: ServingCaps) -> tf.Operation:
    """Assert at most ``max_batch`` encoded images (all frames of all clips) in a request."""
    return tf.debugging.Assert(
        tf.size(encoded) <= caps.max_batch,
        [f"at most {caps.max_batch} encoded images per request (the serving cap, "
         "--max-batch); got:",
         tf.size(encoded)],
        name="check_encoded_count",
    )


def resize_faces(images: tf.Tensor, preset: Preset) -> tf.Tensor:
    """Resize (N, H, W, 3) pixels to the preset's square size (float32, values still 0..255).

    ``crop_mode="pad"`` keeps the aspect ratio and zero-pads (the DFDC winner's contract);
    ``"square"`` stretches (crops are cut square, so this is a plain resize).
    """
    size = preset.input_size
    if images.dtype not in (tf.uint8, tf.float32):
        images = tf.cast(images, tf.float32)
    # uint8 goes into the resize as it is: the kernel reads uint8 and writes float32 at the
    # output size, so no float copy of a large input is made.
    if preset.crop_mode == "pad":
        return tf.image.resize_with_pad(images, size, size, method="bilinear")
    return tf.image.resize(images, (size, size), method="bilinear")


def normalise(pixels: tf.Tensor, preset: Preset) -> tf.Tensor:
    """``(x / 255 - mean) / std`` with the preset's statistics (same as ``FacePreprocessor``)."""
    mean = tf.constant(preset.mean, tf.float32)
    std = tf.constant(preset.std, tf.float32)
    return (tf.cast(pixels, tf.float32) / 255.0 - mean) / std


def model_input(pixels: tf.Tensor, preset: Preset) -> tf.Tensor:
    """What the model takes from 0..255 pixels at its size: normalised, or raw for the ensemble."""
    if takes_raw_pixels(preset):
        return tf.cast(pixels, tf.float32)
    return normalise(pixels, preset)


def model_outputs(model: keras.Model, inputs: tf.Tensor) -> dict[str, tf.Tensor]:
    """Run the model in inference mode: logit, probability, and the optional outputs it has."""
    out = model(inputs, training=False)
    if not isinstance(out, dict) or "logit" not in out:
        raise ValueError(
            f"Model {model.name!r} must return a dict with a 'logit' key; got {type(out).__name__}."
        )
    logit = tf.cast(out["logit"], tf.float32)
    result = {"logit": logit, "probability": tf.sigmoid(logit)}
    for key in OPTIONAL_OUTPUTS:
        if key in out:
            result[key] = tf.cast(out[key], tf.float32)
    return result


def output_names(model: keras.Model) -> list[str]:
    """The exported output names of ``model``, in a fixed order."""
    have = model.output if isinstance(model.output, dict) else {}
    return ["logit", "probability"] + [k for k in OPTIONAL_OUTPUTS if k in have]


def _header_size(encoded: tf.Tensor) -> tf.Tensor:
    """(height, width) of a JPEG/PNG/GIF/BMP from its header, without decoding; (0, 0) when
    the format is none of those (decoding then names the problem)."""
    padded = tf.strings.join([encoded, tf.constant(b"\0" * 32)])

    def number(offset: int, n: int, big_endian: bool) -> tf.Tensor:
        raw = tf.cast(tf.io.decode_raw(tf.strings.substr(padded, offset, n), tf.uint8), tf.int64)
        order = range(n) if big_endian else reversed(range(n))
        value = tf.constant(0, tf.int64)
        for i in order:
            value = value * 256 + raw[i]
        return value

    head = tf.strings.substr(padded, 0, 4)
    return tf.case(
        [
            (tf.equal(tf.strings.substr(head, 0, 2), b"\xff\xd8"),
             lambda: tf.cast(tf.image.extract_jpeg_shape(encoded)[:2], tf.int64)),
            (tf.equal(head, b"\x89PNG"),
             lambda: tf.stack([number(20, 4, True), number(16, 4, True)])),
            (tf.equal(tf.strings.substr(head, 0, 3), b"GIF"),
             lambda: tf.stack([number(8, 2, False), number(6, 2, False)])),
            (tf.equal(tf.strings.substr(head, 0, 2), b"BM"),
             lambda: tf.stack([_unsigned_to_abs(number(22, 4, False)), number(18, 4, False)])),
        ],
        default=lambda: tf.zeros([2], tf.int64),
    )


def _unsigned_to_abs(value: tf.Tensor) -> tf.Tensor:
    """|x| of a little-endian int32 read as unsigned (a BMP stored top-down has height < 0)."""
    return tf.where(value >= 2**31, 2**32 - value, value)


def _decode(encoded: tf.Tensor, preset: Preset, caps: ServingCaps) -> tf.Tensor:
    """Decode one JPEG/PNG (or BMP/GIF first frame) and resize it: (S, S, 3) float32 pixels.

    The byte length and the header's size are checked against the caps before decoding.
    """
    check_bytes = tf.debugging.Assert(
        tf.strings.length(encoded) <= caps.max_encoded_bytes,
        [f"an encoded image is larger than {caps.max_encoded_bytes} bytes (the serving cap, "
         "--max-encoded-bytes); got:",
         tf.strings.length(encoded)],
        name="check_encoded_bytes",
    )
    with tf.control_dependencies([check_bytes]):
        size = _header_size(encoded)
    check_side = tf.debugging.Assert(
        tf.reduce_all(size <= caps.max_side),
        [f"an encoded image is larger than {caps.max_side} pixels per side (the serving cap, "
         "--max-side); its header says (height, width):", size],
        name="check_encoded_side",
    )
    with tf.control_dependencies([check_side]):
        encoded = tf.identity(encoded)
    image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    return resize_faces(image[None], preset)[0]


def build_functions(
    model: keras.Model, preset: Preset, caps: ServingCaps | None = None
) -> dict[str, tuple[Callable, list]]:
    """The serving endpoints of ``model``: name -> (function, input signature).

    Face models: ``serving_default(images: uint8 (N, H, W, 3))`` and
    ``predict_encoded(encoded: string (N,))``. Clip models: ``serving_default(images: uint8
    (N, T, H, W, 3))`` and ``predict_encoded(encoded: string (N, T))``. ``caps``: what one
    request may hold (default ``ServingCaps()``).
    """
    caps = caps or ServingCaps()
    kind = input_kind(model, preset)
    size = preset.input_size
    if kind == "face":
        expected = "(N, H, W, 3)"

        def serve_pixels(images):
            images = _check_pixels(images, 4, expected, caps)
            return model_outputs(model, model_input(resize_faces(images, preset), preset))

        def serve_encoded(encoded):
            check = tf.debugging.Assert(
                tf.equal(tf.rank(encoded), 1),
                [
                    "encoded must be a string tensor of shape (N,) holding JPEG/PNG bytes; "
                    "got shape:",
                    tf.shape(encoded),
                ],
                name="check_encoded_rank",
                summarize=6,
            )
            with tf.control_dependencies([check, _check_count(encoded, caps)]):
                encoded = tf.ensure_shape(encoded, [None], name="check_encoded_shape")
            pixels = tf.map_fn(
                lambda e: _decode(e, preset, caps),
                encoded,
                fn_output_signature=tf.TensorSpec((size, size, 3), tf.float32),
            )
            return model_outputs(model, model_input(pixels, preset))

        pixel_spec = tf.TensorSpec(None, tf.uint8, name="images")
        encoded_spec = tf.TensorSpec([None], tf.string, name="encoded")
    else:
        frames = clip_length(model)
        expected = f"(N, {frames or 'T'}, H, W, 3)"

        def serve_pixels(images):
            images = _check_pixels(images, 5, expected, caps)
            images = _check_clip_length(images, frames, expected)
            if takes_raw_pixels(preset):  # each ensemble member resizes for itself
                return model_outputs(model, model_input(images, preset))
            shape = tf.shape(images)
            flat = tf.reshape(images, tf.concat([[-1], shape[2:]], axis=0))
            flat = resize_faces(flat, preset)
            clips = tf.reshape(flat, tf.stack([shape[0], shape[1], size, size, 3]))
            return model_outputs(model, model_input(clips, preset))

        def serve_encoded(encoded):
            check = tf.debugging.Assert(
                tf.equal(tf.rank(encoded), 2),
                [
                    f"encoded must be a string tensor of shape (N, {frames or 'T'}) holding "
                    "JPEG/PNG bytes per frame; got shape:",
                    tf.shape(encoded),
                ],
                name="check_encoded_rank",
                summarize=6,
            )
            with tf.control_dependencies([check, _check_count(encoded, caps)]):
                encoded = tf.ensure_shape(encoded, [None, frames], name="check_encoded_shape")
            encoded = _check_clip_length(encoded, frames, expected)
            shape = tf.shape(encoded)
            pixels = tf.map_fn(
                lambda e: _decode(e, preset, caps),
                tf.reshape(encoded, [-1]),
                fn_output_signature=tf.TensorSpec((size, size, 3), tf.float32),
            )
            clips = tf.reshape(pixels, tf.stack([shape[0], shape[1], size, size, 3]))
            return model_outputs(model, model_input(clips, preset))

        pixel_spec = tf.TensorSpec(None, tf.uint8, name="images")
        encoded_spec = tf.TensorSpec([None, None], tf.string, name="encoded")
    return {
        "serving_default": (serve_pixels, [pixel_spec]),
        "predict_encoded": (serve_encoded, [encoded_spec]),
    }


def signature_description(
    model: keras.Model, preset: Preset, caps: ServingCaps | None = None
) -> dict[str, Any]:
    """A JSON-able description of the signatures (for the metadata file and the docs)."""
    caps = caps or ServingCaps()
    kind = input_kind(model, preset)
    if kind == "face":
        inputs = {
            "serving_default": {"images": "uint8 (N, H, W, 3) RGB, any H and W"},
            "predict_encoded": {"encoded": "string (N,) JPEG/PNG bytes"},
        }
    else:
        t = clip_length(model) or "T"
        inputs = {
            "serving_default": {"images": f"uint8 (N, {t}, H, W, 3) RGB frames, any H and W"},
            "predict_encoded": {"encoded": f"string (N, {t}) JPEG/PNG bytes per frame"},
        }
    outputs = output_names(model)
    limits = {
        "serving_default": {"max_batch": caps.max_batch, "max_side": caps.max_side},
        "predict_encoded": caps.to_dict(),
    }
    return {name: {"inputs": spec, "outputs": outputs, "caps": limits[name]}
            for name, spec in inputs.items()}
