"""The EfficientNet backbone: keras.applications names and numbers, padding modes, ImageNet copy."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from tfdeepfake.models.efficientnet import (
    build_efficientnet,
    round_filters,
    same_padding,
    stage_block_names,
)
from tfdeepfake.models.efficientnet_autoatt import EfficientNetAutoAtt
from tfdeepfake.models.imagenet import copy_backbone_weights, variant_for


def _backbone(width, depth, size, **kwargs):
    images = keras.Input((size, size, 3), name="images")
    end_points = build_efficientnet(
        images, width_coefficient=width, depth_coefficient=depth, **kwargs
    )
    return keras.Model(images, end_points), end_points


def _randomise(model, seed=0):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        values = []
        for w in layer.weights:
            if "variance" in w.path:
                values.append(rng.uniform(0.5, 1.5, w.shape).astype("float32"))
            else:
                values.append(rng.normal(0.0, 0.1, w.shape).astype("float32"))
        if values:
            layer.set_weights(values)


def _pads(model):
    return {
        layer.name: layer.padding
        for layer in model.layers
        if isinstance(layer, keras.layers.ZeroPadding2D)
    }


def test_same_padding_matches_tensorflow_rule():
    assert same_padding(56, 5, 2) == (1, 2)
    assert same_padding(95, 5, 2) == (2, 2)
    assert same_padding(224, 3, 2) == (0, 1)
    assert same_padding(7, 3, 1) == (1, 1)


def test_block_names_and_widths_follow_keras():
    names = stage_block_names(1.8)
    assert [len(s) for s in names] == [2, 4, 4, 6, 6, 8, 2]
    assert names[2][-1] == "block3d" and names[6][-1] == "block7b"
    assert [len(s) for s in stage_block_names(3.1)] == [4, 7, 7, 10, 10, 13, 4]
    assert round_filters(1280, 1.4) == 1792 and round_filters(1280, 2.0) == 2560
    assert round_filters(40, 1.4) == 56


def _keras_efficientnet(width, depth, size):
    """keras.applications' EfficientNet builder at any scaling (B0-B7 are fixed sizes)."""
    from keras.src.applications.efficientnet import EfficientNet

    return EfficientNet(
        width, depth, size, include_top=False, weights=None, input_shape=(size, size, 3)
    )


def test_backbone_equals_keras_applications_with_the_same_weights():
    # Depth 0.5 keeps multi-block stages (residual adds, drop-connect) at a tenth of B0's cost.
    model, end_points = _backbone(0.25, 0.5, 32)
    reference = _keras_efficientnet(0.25, 0.5, 32)
    _randomise(reference)
    copied = copy_backbone_weights(reference, model)
    weighted = {layer.name for layer in reference.layers if layer.weights} - {"normalization"}
    assert set(copied) == weighted
    assert {layer.name for layer in model.layers if layer.weights} == weighted
    assert "block4b_project_conv" in weighted and "block4b_drop" in {
        layer.name for layer in model.layers
    }
    assert not any(
        isinstance(layer, (keras.layers.Rescaling, keras.layers.Normalization))
        for layer in model.layers
    )
    x = np.random.default_rng(1).uniform(-2, 2, (2, 32, 32, 3)).astype("float32")
    # keras.applications rescales by 1/255 first; its Normalization is the identity here.
    expected = keras.ops.convert_to_numpy(reference(x * 255.0))
    got = keras.ops.convert_to_numpy(model(x)["top"])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert end_points["stage3"].shape[1:] == (4, 4, 16)
    assert end_points["top"].shape[1:] == (1, 1, 320)


def test_pytorch_0_7_padding_differs_from_keras_only_in_block3a_at_224():
    # Padding depends on the spatial geometry, which every EfficientNet shares; B4's width
    # with one block per stage keeps this cheap (the full B4 runs in the slow test).
    keras_model, _ = _backbone(1.4, 0.1, 224, padding="keras")
    ref_model, ref_points = _backbone(1.4, 0.1, 224, padding="pytorch_0.7", reference_size=380)
    keras_pads, ref_pads = _pads(keras_model), _pads(ref_model)
    assert ref_pads["block3a_dwconv_pad"] == ((2, 2), (2, 2))
    assert keras_pads["block3a_dwconv_pad"] == ((1, 2), (1, 2))
    differing = sorted(n for n in keras_pads if keras_pads[n] != ref_pads[n])
    assert differing == ["block3a_dwconv_pad"]
    assert ref_points["stage3"].shape[1:] == (28, 28, 56)


def test_pytorch_0_7_padding_equals_keras_at_the_reference_size():
    keras_model, _ = _backbone(0.25, 0.1, 380, padding="keras")
    ref_model, _ = _backbone(0.25, 0.1, 380, padding="pytorch_0.7", reference_size=380)
    assert _pads(keras_model) == _pads(ref_model)


def test_pytorch_0_6_padding_equals_keras_at_224_and_not_at_odd_sides():
    """0.6.x pads every conv for the global 380 px: TF "same" wherever stride-2 inputs are even."""
    keras_model, _ = _backbone(1.4, 0.1, 224, padding="keras")
    static_model, _ = _backbone(1.4, 0.1, 224, padding="pytorch_0.6", reference_size=380)
    assert _pads(keras_model) == _pads(static_model)
    keras_model, _ = _backbone(1.4, 0.1, 200, padding="keras")  # block4a sees 25, block6a 13
    static_model, _ = _backbone(1.4, 0.1, 200, padding="pytorch_0.6", reference_size=380)
    differing = sorted(n for n, p in _pads(keras_model).items() if _pads(static_model)[n] != p)
    assert differing == ["block4a_dwconv_pad", "block6a_dwconv_pad"]


def test_backbone_rejects_bad_arguments():
    images = keras.Input((32, 32, 3))
    with pytest.raises(ValueError, match="padding must be one of"):
        build_efficientnet(images, width_coefficient=1.0, depth_coefficient=1.0, padding="same")
    with pytest.raises(ValueError, match="stage_hooks keys must be stages 1-7"):
        build_efficientnet(
            images, width_coefficient=1.0, depth_coefficient=1.0, stage_hooks={8: lambda x: x}
        )
    with pytest.raises(ValueError, match="static input size"):
        build_efficientnet(keras.Input((None, None, 3)), width_coefficient=1, depth_coefficient=1)


def test_imagenet_copy_fills_a_detector_and_rejects_a_mismatch():
    source = _keras_efficientnet(0.25, 0.5, 32)
    _randomise(source, seed=3)
    detector = EfficientNetAutoAtt(0.25, 0.5, input_size=32, attention=True)
    copied = copy_backbone_weights(source, detector)
    assert "block4b_project_conv" in copied and "top_bn" in copied
    assert "attention_conv" not in copied and "logit" not in copied
    np.testing.assert_array_equal(
        detector.get_layer("block4b_dwconv").get_weights()[0],
        source.get_layer("block4b_dwconv").get_weights()[0],
    )
    other = EfficientNetAutoAtt(0.5, 0.5, input_size=32)
    with pytest.raises(ValueError, match="Cannot copy .* shapes"):
        copy_backbone_weights(source, other)
    with pytest.raises(ValueError, match="ImageNet weights exist only for EfficientNet B0-B7"):
        variant_for(0.25, 0.1)
    assert variant_for(1.4, 1.8) == "b4" and variant_for(2.0, 3.1) == "b7"


def test_imagenet_weights_offline_error_names_file_url_and_folder(tmp_path):
    # Keras' real download path, pointed at an empty cache and an unreachable proxy.
    code = textwrap.dedent(
        """
        from tfdeepfake.models.imagenet import ImageNetWeightsUnavailable, imagenet_efficientnet
        try:
            imagenet_efficientnet("b0", 32)
        except ImageNetWeightsUnavailable as error:
            print("ERROR:", error)
        """
    )
    env = {
        **os.environ,
        "KERAS_HOME": str(tmp_path),
        "https_proxy": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    message = result.stdout
    assert "ERROR:" in message, result.stderr[-2000:]
    assert "efficientnetb0_notop.h5" in message
    assert "https://storage.googleapis.com/keras-applications/efficientnetb0_notop.h5" in message
    assert str(tmp_path / "models" / "efficientnetb0_notop.h5") in message


@pytest.mark.slow
def test_full_size_backbones_match_keras_applications():
    for width, depth, size, app in [
        (1.4, 1.8, 224, keras.applications.EfficientNetB4),
        (2.0, 3.1, 380, keras.applications.EfficientNetB7),
    ]:
        model, _ = _backbone(width, depth, size)
        reference = app(include_top=False, weights=None, input_shape=(size, size, 3))
        normalization = [
            layer for layer in reference.layers if isinstance(layer, keras.layers.Normalization)
        ]
        weighted = {layer.name for layer in reference.layers if layer.weights}
        expected = weighted - {layer.name for layer in normalization}
        assert {layer.name for layer in model.layers if layer.weights} == expected
        normalization = sum(layer.count_params() for layer in normalization)
        print(f"{app.__name__} backbone parameters: {model.count_params():,}")
        assert model.count_params() == reference.count_params() - normalization
    keras_model, _ = _backbone(1.4, 1.8, 224, padding="keras")
    ref_model, _ = _backbone(1.4, 1.8, 224, padding="pytorch_0.7", reference_size=380)
    keras_pads, ref_pads = _pads(keras_model), _pads(ref_model)
    assert [n for n in keras_pads if keras_pads[n] != ref_pads[n]] == ["block3a_dwconv_pad"]


def test_initial_weights_follow_the_keras_seed_and_differ_per_layer():
    """One seed, one initialisation, in any process; another seed, another one. A shared
    initializer made at import drew its seed from the unseeded process instead (the
    quickstart's frame models trained differently on every run with the same seed)."""

    def initial_kernels(seed):
        keras.utils.set_random_seed(seed)
        model, _ = _backbone(0.1, 0.1, 32)
        return {w.path: np.asarray(w) for w in model.weights if w.path.endswith("kernel")}

    first, again, other = initial_kernels(0), initial_kernels(0), initial_kernels(1)
    assert first.keys() == again.keys() == other.keys()
    assert all(np.array_equal(first[k], again[k]) for k in first)
    assert not any(np.array_equal(first[k], other[k]) for k in first)
    by_shape = {}
    for kernel in first.values():
        by_shape.setdefault(kernel.shape, []).append(kernel)
    same_shape = [ks for ks in by_shape.values() if len(ks) > 1]
    assert same_shape, "the test needs two kernels of one shape"
    assert all(not np.array_equal(ks[0], ks[1]) for ks in same_shape)
