"""GroupedConv2D (the ResNeXt backbone's grouped 3x3) runs on TensorFlow's native kernel,
equals per-group convolutions forward and backward, and leaves Keras itself unpatched."""

import keras
import numpy as np
import pytest

from tfdeepfake.models.resnet import GroupedConv2D
from tfdeepfake.tf_backend import native_grouped_conv_available

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="the native kernel is TensorFlow-only"
)


def _per_group(x, kernel, groups, strides=1):
    cin, cout = x.shape[-1] // groups, kernel.shape[-1] // groups
    import tensorflow as tf

    return tf.concat([
        tf.nn.convolution(x[..., cin * g : cin * (g + 1)], kernel[..., cout * g : cout * (g + 1)],
                          strides, "SAME")
        for g in range(groups)
    ], axis=-1)  # fmt: skip


def test_grouped_conv_is_native_and_equals_per_group_convs():
    import tensorflow as tf

    assert native_grouped_conv_available()
    x = np.random.default_rng(0).normal(size=(2, 9, 9, 8)).astype("float32")
    layer = GroupedConv2D(12, 3, strides=2, padding="same", groups=4, use_bias=False)
    got = keras.ops.convert_to_numpy(layer(x))
    np.testing.assert_allclose(got, _per_group(x, layer.kernel, 4, 2), atol=1e-5)
    # No XLA cluster in the traced graph: the native kernel runs.
    graph = tf.function(lambda a: layer(a)).get_concrete_function(
        tf.TensorSpec(x.shape, tf.float32)
    ).graph
    assert not any("Xla" in op.type for op in graph.get_operations())
    names = [f.signature.name for f in graph.as_graph_def().library.function]
    assert not any("_conv_xla" in n for n in names), names


def test_gradients_for_inputs_and_kernel_match_per_group_convs():
    """TensorFlow has no CPU kernel for a grouped conv's input gradient: training and
    Grad-CAM need it, so the layer's gradient goes through keras.ops.conv."""
    import tensorflow as tf

    x = tf.constant(np.random.default_rng(1).normal(size=(2, 7, 7, 4)).astype("float32"))
    layer = GroupedConv2D(4, 3, padding="same", groups=2, use_bias=False)
    layer.build(x.shape)

    def grads(conv):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(conv(x) ** 2)
        return tape.gradient(loss, [x, layer.kernel])

    want = grads(lambda a: _per_group(a, layer.kernel, 2))
    for got in (grads(layer), tf.function(lambda: grads(layer))()):  # eager and traced
        for g, w in zip(got, want):
            np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-4, atol=1e-3)


def test_keras_conv2d_is_left_alone():
    """Only our layer takes the native path: a user's own Conv2D with groups still runs
    through Keras' XLA wrapper (nothing is patched on import)."""
    import tensorflow as tf

    import tfdeepfake.models  # noqa: F401

    layer = keras.layers.Conv2D(4, 3, padding="same", groups=2, use_bias=False)
    graph = tf.function(lambda a: layer(a)).get_concrete_function(
        tf.TensorSpec((1, 5, 5, 4), tf.float32)
    ).graph
    names = [f.signature.name for f in graph.as_graph_def().library.function]
    assert any("_conv_xla" in n for n in names), names


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
