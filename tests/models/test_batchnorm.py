"""Precise BatchNorm: population statistics re-estimated with the weights frozen."""

import keras
import numpy as np

from tfdeepfake.models.batchnorm import batch_norm_layers, refresh_batch_norm


def _model():
    inputs = keras.Input((3,))
    x = keras.layers.Dense(3, kernel_initializer="identity", use_bias=False)(inputs)
    return keras.Model(inputs, keras.layers.BatchNormalization(name="bn")(x))


def test_statistics_become_the_mean_of_the_batches_and_the_weights_stay():
    model = _model()
    rng = np.random.default_rng(0)
    batches = [rng.normal(loc, scale, (64, 3)).astype("float32")
               for loc, scale in ((1.0, 1.0), (3.0, 2.0), (5.0, 3.0))]
    kernel = model.layers[1].get_weights()[0].copy()
    assert refresh_batch_norm(model, batches) == 3
    bn = model.get_layer("bn")
    expected_mean = np.mean([b.mean(axis=0) for b in batches], axis=0)
    expected_var = np.mean([b.var(axis=0) for b in batches], axis=0)
    np.testing.assert_allclose(bn.moving_mean.numpy(), expected_mean, rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), expected_var, rtol=1e-4)
    assert bn.momentum == 0.99  # restored after the refresh
    np.testing.assert_array_equal(model.layers[1].get_weights()[0], kernel)
    # Inference now normalises data like the batches: mean ~0, variance ~1.
    out = model(np.concatenate(batches), training=False).numpy()
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=0.05)


def test_nothing_changes_without_batches_or_batch_norm():
    model = _model()
    before = [v.numpy().copy() for v in model.non_trainable_variables]
    assert refresh_batch_norm(model, []) == 0
    for old, variable in zip(before, model.non_trainable_variables):
        np.testing.assert_array_equal(variable.numpy(), old)
    dense = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    assert batch_norm_layers(dense) == [] and refresh_batch_norm(dense, [np.ones((2, 2))]) == 0


def test_per_sample_weighs_each_batch_by_its_length():
    rng = np.random.default_rng(1)
    batches = [rng.normal(0.0, 1.0, (48, 3)).astype("float32"),
               rng.normal(4.0, 1.0, (16, 3)).astype("float32")]
    plain, per_sample = _model(), _model()
    refresh_batch_norm(plain, batches)
    assert refresh_batch_norm(per_sample, batches, per_sample=True) == 2
    np.testing.assert_allclose(
        per_sample.get_layer("bn").moving_mean.numpy(),
        (48 * batches[0].mean(axis=0) + 16 * batches[1].mean(axis=0)) / 64, rtol=1e-5)
    np.testing.assert_allclose(
        plain.get_layer("bn").moving_mean.numpy(),
        (batches[0].mean(axis=0) + batches[1].mean(axis=0)) / 2, rtol=1e-5)
