"""Attention maps and Grad-CAM: shapes, ranges, per-frame maps for clips, clear errors.

The real tiny detectors run eagerly (under 5 M parameters, see ``should_compile``; those
with grouped convolutions are traced); the
traced path that full-size models take is checked against eager on a small model.
"""

import numpy as np
import pytest

from tfdeepfake.explain import attention_heatmap, face_heatmaps, gradcam, has_attention


def _images(n=3, size=64, seed=0):
    return np.random.default_rng(seed).normal(size=(n, size, size, 3)).astype("float32")


def test_attention_heatmap_is_model_attention_upsampled(frame_model):
    x = _images()
    maps = attention_heatmap(frame_model, x)
    assert maps.shape == (3, 64, 64) and maps.dtype == np.float32
    assert maps.min() >= 0.0 and maps.max() <= 1.0
    raw = np.asarray(frame_model(x)["attention"])[..., 0]  # stride 8
    assert raw.shape == (3, 8, 8)
    # Bilinear 8x upsampling keeps the mean and the layout (coarse blocks agree).
    np.testing.assert_allclose(maps.mean(axis=(1, 2)), raw.mean(axis=(1, 2)), atol=2e-2)
    coarse = maps.reshape(3, 8, 8, 8, 8).mean(axis=(2, 4))
    assert np.corrcoef(coarse.ravel(), raw.ravel())[0, 1] > 0.9


def test_attention_heatmap_needs_attention_output(sequence_model):
    with pytest.raises(ValueError, match="no 'attention' output.*gradcam"):
        attention_heatmap(sequence_model, np.zeros((1, 2, 64, 64, 3), "float32"))


def test_gradcam_frames(frame_model):
    x = _images(4)
    maps = gradcam(frame_model, x)
    assert maps.shape == (4, 64, 64) and maps.dtype == np.float32
    assert maps.min() >= 0.0 and maps.max() <= 1.0 + 1e-6
    peaks = maps.reshape(4, -1).max(axis=1)
    assert np.all((np.abs(peaks - 1.0) < 1e-5) | (peaks == 0.0))  # each map scaled to its max
    assert maps.reshape(4, -1).std(axis=1).max() > 0  # not flat
    # Explaining "real" uses the opposite gradient: the maps differ.
    assert not np.allclose(maps, gradcam(frame_model, x, target="real"))


def test_gradcam_sequence_model_gives_per_frame_maps(sequence_model):
    clips = np.random.default_rng(1).normal(size=(2, 3, 64, 64, 3)).astype("float32")
    maps = gradcam(sequence_model, clips)
    assert maps.shape == (2, 3, 64, 64)
    assert maps.min() >= 0.0 and maps.max() <= 1.0 + 1e-6
    # Clip 0's maps depend only on clip 0: changing clip 1 leaves them unchanged.
    other = clips.copy()
    other[1] = np.random.default_rng(2).normal(size=other[1].shape)
    np.testing.assert_allclose(gradcam(sequence_model, other)[0], maps[0], atol=1e-5)


def test_gradcam_bad_layer_and_target(frame_model):
    with pytest.raises(ValueError, match="no layer 'nope'.*model.summary"):
        gradcam(frame_model, _images(1), layer_name="nope")
    with pytest.raises(ValueError, match="target must be"):
        gradcam(frame_model, _images(1), target="maybe")


def test_gradcam_b7_ssim_tiny():
    from tfdeepfake import create_model

    model = create_model("b7_ssim_tiny")
    x = np.random.default_rng(3).normal(size=(2, 48, 48, 3)).astype("float32")
    maps = gradcam(model, x)
    assert maps.shape == (2, 48, 48) and 0.0 <= maps.min() and maps.max() <= 1.0 + 1e-6
    att = attention_heatmap(model, x)  # its SSIM attention
    assert att.shape == (2, 48, 48) and 0.0 <= att.min() and att.max() <= 1.0


def test_gradcam_rejects_wrong_input_size(frame_model):
    with pytest.raises(ValueError, match="64x64"):
        gradcam(frame_model, _images(1, size=40))


def test_face_heatmaps_picks_attention_or_gradcam(frame_model, sequence_model):
    x = _images(2)
    assert has_attention(frame_model) and not has_attention(sequence_model)
    np.testing.assert_allclose(
        face_heatmaps(frame_model, x),
        attention_heatmap(frame_model, x),
    )
    np.testing.assert_allclose(
        face_heatmaps(frame_model, x, "gradcam"),
        gradcam(frame_model, x),
    )
    with pytest.raises(ValueError, match="method must be"):
        face_heatmaps(frame_model, x, "lime")


def test_compiled_matches_eager():
    import keras
    from keras import layers

    images = keras.Input((16, 16, 3))
    x = layers.Conv2D(4, 3, strides=2, activation="relu", name="features")(images)
    att = layers.Conv2D(1, 1, activation="sigmoid", name="att")(x)
    logit = layers.Dense(1)(layers.GlobalAveragePooling2D()(x * att))
    model = keras.Model(images, {"logit": logit, "attention": att})
    x = _images(2, size=16)
    eager = gradcam(model, x, layer_name="features", compiled=False)
    assert eager.shape == (2, 16, 16)
    np.testing.assert_allclose(gradcam(model, x, "features"), eager, atol=1e-5)
    np.testing.assert_allclose(
        attention_heatmap(model, x), attention_heatmap(model, x, compiled=False), atol=1e-6
    )


def test_should_compile_by_size(frame_model):
    from tfdeepfake.explain._compile import should_compile

    class Big:
        def count_params(self):
            return 20_000_000

    assert not should_compile(frame_model, None) and should_compile(Big(), None)
    assert should_compile(frame_model, True) and not should_compile(Big(), False)


def test_grouped_convolutions_are_traced_once_not_retraced_per_call(caplog):
    """Keras builds a new function per eager grouped-conv gradient (TensorFlow then warns
    about retracing on every face): ResNeXt models are explained through one trace."""
    import logging

    from tfdeepfake.explain._compile import should_compile
    from tfdeepfake.models import create_model

    model = create_model("resnet_lstm_tiny")
    assert should_compile(model, None) and not should_compile(model, False)
    clips = np.random.default_rng(0).normal(size=(1, 8, 32, 32, 3)).astype("float32")
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        maps = [gradcam(model, clips + k) for k in range(6)]
    assert maps[0].shape == (1, 8, 32, 32)
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]
