"""Grouped convolutions on the TensorFlow backend run natively (tfdeepfake.tf_backend)."""

import keras
import numpy as np
import pytest

import tfdeepfake.models  # noqa: F401  (applies the routing on import)
from tfdeepfake.tf_backend import use_native_grouped_conv

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="the routing is TensorFlow-only"
)


def test_grouped_conv_is_native_and_equals_per_group_convs():
    import tensorflow as tf

    assert use_native_grouped_conv()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 9, 9, 8)).astype("float32")
    layer = keras.layers.Conv2D(12, 3, strides=2, padding="same", groups=4, use_bias=False)
    got = keras.ops.convert_to_numpy(layer(x))
    kernel = keras.ops.convert_to_numpy(layer.kernel)  # (3, 3, 2, 12)
    expected = np.concatenate(
        [
            keras.ops.convert_to_numpy(
                keras.ops.conv(x[..., 2 * g : 2 * g + 2], kernel[..., 3 * g : 3 * g + 3], 2, "same")
            )
            for g in range(4)
        ],
        axis=-1,
    )
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # No XLA cluster in the traced graph: the native kernel runs.
    graph = tf.function(lambda a: layer(a)).get_concrete_function(
        tf.TensorSpec(x.shape, tf.float32)
    ).graph
    assert not any("XlaLaunch" in op.type or "_XlaCompile" in op.type
                   for op in graph.get_operations())  # fmt: skip
    names = [f.signature.name for f in graph.as_graph_def().library.function]
    assert not any("_conv_xla" in n for n in names), names


def test_importing_the_models_leaves_tensorflow_uninitialised():
    """MultiWorkerMirroredStrategy must configure TensorFlow before its first op runs."""
    import subprocess
    import sys

    code = (
        "import tfdeepfake.models, tensorflow as tf\n"
        "tf.config.threading.set_inter_op_parallelism_threads(1)  # raises once initialised\n"
        "print('uninitialised')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)  # fmt: skip
    assert out.returncode == 0 and "uninitialised" in out.stdout, out.stderr[-2000:]


def test_grouped_conv_gradients_match_per_group_convs():
    import tensorflow as tf

    rng = np.random.default_rng(1)
    x = tf.constant(rng.normal(size=(2, 7, 7, 4)).astype("float32"))
    layer = keras.layers.Conv2D(4, 3, padding="same", groups=2, use_bias=False)
    layer.build(x.shape)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x) ** 2)
    grad = tape.gradient(loss, layer.kernel)
    kernel = tf.convert_to_tensor(layer.kernel)
    with tf.GradientTape() as tape:
        tape.watch(kernel)
        parts = [tf.nn.convolution(x[..., 2 * g : 2 * g + 2], kernel[..., 2 * g : 2 * g + 2], 1,
                                   "SAME") for g in range(2)]  # fmt: skip
        loss = tf.reduce_sum(tf.concat(parts, -1) ** 2)
    expected = tape.gradient(loss, kernel).numpy()
    np.testing.assert_allclose(grad.numpy(), expected, rtol=1e-4, atol=1e-3)
