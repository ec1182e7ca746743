"""Tiny detectors for the explanation tests."""

import keras
import pytest


@pytest.fixture(scope="session")
def frame_model():
    """The real tiny AutoAttB4 at 64 px, so its last feature map is 2x2 (attention 8x8)."""
    from tfdeepfake import create_model

    keras.utils.set_random_seed(0)
    return create_model("autoatt_b4_tiny", input_size=64)


@pytest.fixture(scope="session")
def sequence_model():
    """The real tiny ResNeXt-LSTM at 64 px, so its last feature map is 2x2."""
    from tfdeepfake import create_model

    keras.utils.set_random_seed(1)
    return create_model("resnet_lstm_tiny", input_size=64)
