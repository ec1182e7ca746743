"""The ResNet50 / ResNeXt50_32x4d builder: layer names, shapes, parameter counts, weight copy."""

import keras
import numpy as np
import pytest

from tfdeepfake.models.resnet import build_resnet, load_backbone_weights


def test_tiny_backbones_shapes():
    for variant in ("resnet50", "resnext50_32x4d"):
        model = build_resnet(variant, (32, 32, 3), block_counts=(1, 2, 1, 1), base_width=8)
        assert model.output.shape == (None, 1, 1, 256)
        assert model.feature_map_layer == "conv5_block1_out"
        assert model.get_layer("conv3_block2_out")  # second block of stage 3 exists


def test_bad_base_width_for_resnext():
    with pytest.raises(ValueError, match="multiple of 8"):
        build_resnet("resnext50_32x4d", (32, 32, 3), block_counts=(1, 1, 1, 1), base_width=7)


@pytest.mark.slow
def test_full_size_parameter_counts_and_names():
    ours = build_resnet("resnet50", (112, 112, 3))
    reference = keras.applications.ResNet50(
        include_top=False, weights=None, input_shape=(112, 112, 3)
    )
    assert ours.count_params() == reference.count_params() == 23_587_712
    named = {layer.name for layer in reference.layers if layer.weights}
    assert named <= {layer.name for layer in ours.layers}
    resnext = build_resnet("resnext50_32x4d", (112, 112, 3))
    # Trainable: torchvision's resnext50_32x4d without its fc layer (25,028,904 - 2,049,000);
    # Keras also counts the batch norms' moving mean and variance (2 x 34,112 channels).
    trainable = sum(int(np.prod(w.shape)) for w in resnext.trainable_weights)
    assert trainable == 22_979_904
    assert resnext.count_params() == 22_979_904 + 68_224
    assert resnext.output.shape == (None, 4, 4, 2048)


@pytest.mark.slow
def test_resnet50_weights_copy_by_name_matches_keras(tmp_path):
    reference = keras.applications.ResNet50(include_top=False, weights=None)
    path = tmp_path / "resnet50_notop.weights.h5"
    reference.save_weights(path)
    ours = build_resnet("resnet50", (64, 64, 3))
    assert load_backbone_weights(ours, "resnet50", str(path)) == 106  # convs + batch norms
    x = np.random.default_rng(0).normal(size=(2, 64, 64, 3)).astype("float32")
    np.testing.assert_allclose(ours(x), reference(x), atol=1e-4)
