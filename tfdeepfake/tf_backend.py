"""TensorFlow-only kernels the models need but cannot express in ``keras.ops``.

Keras 3.15 compiles every grouped convolution with XLA on the TensorFlow backend (its
workaround for TensorFlow CPU kernels that once lacked groups). TensorFlow 2.21's oneDNN
Conv2D runs them natively: on 2 CPU cores a ResNeXt 3x3 conv of 32 groups took 11.7 ms
natively and 115 ms through XLA, with identical outputs (max difference 0.0). ResNeXt-LSTM's
backbone is made of such convolutions.

``grouped_conv2d`` runs a 2-D channels-last grouped convolution on that native kernel. Its
gradient goes through ``keras.ops.conv`` (Keras' XLA path): TensorFlow has no CPU kernel for
the input gradient of a grouped convolution ("Gradients for grouped convolutions are not
supported on CPU"), which training and Grad-CAM need. Only the models' own
``GroupedConv2D`` layer calls it: no Keras function is patched, so a user's other models are
untouched.

``native_grouped_conv_available()`` probes the kernel once, at the first grouped
convolution, not on import: running any TensorFlow op initialises TensorFlow's context, and
``MultiWorkerMirroredStrategy`` must be created before that.
"""

from __future__ import annotations

from collections.abc import Sequence

_STATE: dict[str, bool] = {}


def native_grouped_conv_available() -> bool:
    """True when TensorFlow's native grouped-conv kernel exists here and agrees with
    per-group convolutions (probed once, eagerly even when called while tracing)."""
    import tensorflow as tf

    if "kernel_ok" not in _STATE:
        with tf.init_scope():
            _STATE["kernel_ok"] = _native_grouped_conv_works(tf)
    return _STATE["kernel_ok"]


def grouped_conv2d(
    inputs, kernel, strides: Sequence[int], padding: str, dilation_rate: Sequence[int]
):
    """Channels-last grouped 2-D convolution on TensorFlow's native kernel; its gradient
    through ``keras.ops.conv`` (see the module docstring)."""
    import keras
    import tensorflow as tf

    strides, dilation_rate = list(strides), list(dilation_rate)

    @tf.custom_gradient
    def conv(x, k):
        y = tf.nn.convolution(
            x, k, strides, padding.upper(), data_format="NHWC", dilations=dilation_rate
        )

        def grad(dy):
            with tf.GradientTape() as tape:
                tape.watch([x, k])
                again = keras.ops.conv(x, k, strides, padding, "channels_last", dilation_rate)
            return tape.gradient(again, [x, k], output_gradients=dy)

        return y, grad

    return conv(tf.convert_to_tensor(inputs), tf.convert_to_tensor(kernel))


def _native_grouped_conv_works(tf) -> bool:
    """A 2-group 3x3 convolution on the CPU, natively: does the kernel exist and agree?"""
    try:
        with tf.device("CPU:0"):
            x = tf.reshape(tf.range(2 * 5 * 5 * 4, dtype=tf.float32), (2, 5, 5, 4)) / 100.0
            kernel = tf.reshape(tf.range(3 * 3 * 2 * 4, dtype=tf.float32), (3, 3, 2, 4)) / 50.0
            native = tf.nn.convolution(x, kernel, 1, "SAME")
            halves = [
                tf.nn.convolution(x[..., 2 * g : 2 * g + 2], kernel[..., 2 * g : 2 * g + 2],
                                  1, "SAME")
                for g in range(2)
            ]  # fmt: skip
            expected = tf.concat(halves, axis=-1)
            return bool(tf.reduce_max(tf.abs(native - expected)) < 1e-4)
    except Exception:  # no native grouped kernel (oneDNN off): keep Keras' XLA path
        return False
