"""The input checks hold in Keras' compiled paths: after a first compiled call, a batch of
another size or channel count, or an empty batch, gets the same ValueError as an eager call.
(Keras' TensorFlow trainer traces again with the differing dimensions relaxed to None, which
a check at trace time cannot see: the 48 px batch ran through the 32 px model.)"""

import keras
import numpy as np
import pytest

from tfdeepfake.models import create_model

# preset -> (an input shape it takes, [(a shape it refuses, what the error says)])
CASES = {
    "autoatt_b4_tiny": ((2, 32, 32, 3), [((2, 48, 48, 3), "got spatial size 48x48"),
                                         ((2, 32, 32, 1), "got 1 channels"),
                                         ((0, 32, 32, 3), "got an empty batch")]),
    "b7_ssim_tiny": ((2, 48, 48, 3), [((2, 32, 32, 3), "got spatial size 32x32"),
                                      ((2, 48, 48, 1), "got 1 channels"),
                                      ((0, 48, 48, 3), "got an empty batch")]),
    "gend_clip_tiny": ((2, 32, 32, 3), [((2, 48, 48, 3), "got spatial size 48x48"),
                                        ((2, 32, 32, 1), "got 1 channels"),
                                        ((0, 32, 32, 3), "got an empty batch")]),
    "resnet_lstm_tiny": ((2, 3, 32, 32, 3), [((2, 3, 48, 48, 3), "got frames of 48x48"),
                                             ((2, 3, 32, 32, 1), "got 1 channels"),
                                             ((0, 3, 32, 32, 3), "got an empty batch")]),
    "ensemble_tiny": ((1, 2, 48, 48, 3), [((1, 2, 48, 48, 1), "got 1 channels"),
                                          ((0, 2, 48, 48, 3), "got an empty batch")]),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_compiled_calls_refuse_what_eager_calls_refuse(name):
    good, refused = CASES[name]
    model = create_model(name)
    assert model.predict_on_batch(np.zeros(good, "float32"))["logit"].shape == (good[0], 1)
    assert model.predict(np.zeros(good, "float32"), verbose=0)["logit"].shape == (good[0], 1)
    for shape, message in refused:
        x = np.zeros(shape, "float32")
        with pytest.raises(ValueError, match=message) as info:
            model.predict_on_batch(x)
        assert model.name in str(info.value)
        with pytest.raises(ValueError, match=message):
            model.predict(x, verbose=0)
        with pytest.raises(ValueError, match=message):
            model(x)


def test_training_entry_points_and_datasets_are_checked():
    import tensorflow as tf

    model = create_model("autoatt_b4_tiny")
    model.compile("sgd", loss={"logit": keras.losses.BinaryCrossentropy(from_logits=True)})
    y = {"logit": np.zeros((2, 1), "float32")}
    model.fit(np.zeros((2, 32, 32, 3), "float32"), y, epochs=1, verbose=0)
    faces = np.zeros((2, 48, 48, 3), "float32")
    dataset = tf.data.Dataset.from_tensor_slices((faces, y)).batch(2)
    with pytest.raises(ValueError, match="got spatial size 48x48"):
        model.train_on_batch(faces, y)
    with pytest.raises(ValueError, match="got spatial size 48x48"):
        model.test_on_batch(faces, y)
    with pytest.raises(ValueError, match="got spatial size 48x48"):
        model.fit(faces, y, verbose=0)
    with pytest.raises(ValueError, match="got spatial size 48x48"):
        model.evaluate(faces, y, verbose=0)
    with pytest.raises(ValueError, match="got spatial size 48x48"):
        model.fit(dataset, verbose=0)
