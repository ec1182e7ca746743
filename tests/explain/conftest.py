"""Tiny detectors for the explanation tests."""

import keras
import pytest
from keras import layers


def _attention_model(size=32):
    """Shaped like AutoAttB4: dict output with "logit" and an "attention" map in [0, 1]."""
    images = keras.Input((size, size, 3), name="images")
    x = layers.Conv2D(4, 3, strides=2, padding="same", activation="relu", name="stem")(images)
    att = layers.Conv2D(1, 1, activation="sigmoid", name="attention_conv")(x)
    x = layers.Multiply(name="attend")([x, att])
    x = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="features")(x)
    pooled = layers.GlobalAveragePooling2D(name="pool")(x)
    logit = layers.Dense(1, name="logit")(pooled)
    model = keras.Model(images, {"logit": logit, "attention": att}, name="tiny_att")
    model.feature_map_layer = "features"
    return model


@pytest.fixture(scope="session")
def frame_model():
    keras.utils.set_random_seed(0)
    return _attention_model()


@pytest.fixture(scope="session")
def sequence_model():
    """The real tiny ResNeXt-LSTM at 64 px, so its last feature map is 2x2."""
    from tfdeepfake import create_model

    keras.utils.set_random_seed(1)
    return create_model("resnet_lstm_tiny", input_size=64)
