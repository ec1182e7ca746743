"""TensorFlow-backend tuning that the models need but cannot express in ``keras.ops``.

Keras 3.15 compiles every grouped convolution with XLA on the TensorFlow backend (its
workaround for TensorFlow CPU kernels that once lacked groups). TensorFlow 2.21's oneDNN
Conv2D runs them natively: on 2 CPU cores a ResNeXt 3x3 conv of 32 groups took 11.7 ms
natively and 115 ms through XLA, with identical outputs (max difference 0.0) and gradients
within float32 rounding. ResNeXt-LSTM's backbone is made of such convolutions.

``use_native_grouped_conv()`` routes 2-D channels-last grouped convolutions to
``tf.nn.convolution`` when a probe shows the native kernel works on this machine; every
other convolution still goes through Keras unchanged. The probe runs at the first grouped
convolution, not on import: running any TensorFlow op initialises TensorFlow's context, and
``MultiWorkerMirroredStrategy`` must be created before that. ``tfdeepfake.models`` calls it
on import when Keras runs on TensorFlow; other backends are not touched.
"""

from __future__ import annotations

_STATE = {"done": False}


def use_native_grouped_conv() -> bool:
    """Route grouped 2-D convolutions to TensorFlow's kernel; True when the routing is in place.

    Runs no TensorFlow op: the kernel probe waits for the first grouped convolution.
    """
    if _STATE["done"]:
        return _STATE["native"]
    _STATE["done"], _STATE["native"] = True, False
    import keras

    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf
    from keras.src.backend.tensorflow import nn as keras_tf_nn

    keras_conv = getattr(keras_tf_nn, "conv", None)
    if keras_conv is None:
        return False

    def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
        grouped = (
            len(inputs.shape) == 4
            and (data_format or keras.config.image_data_format()) == "channels_last"
            and inputs.shape[-1] is not None
            and inputs.shape[-1] != kernel.shape[-2]
        )
        if not grouped or not _native_kernel_ok(tf):
            return keras_conv(inputs, kernel, strides, padding, data_format, dilation_rate)
        return tf.nn.convolution(
            inputs, kernel, strides, padding.upper(), data_format="NHWC", dilations=dilation_rate
        )

    keras_tf_nn.conv = conv
    _STATE["native"] = True
    return True


def _native_kernel_ok(tf) -> bool:
    """The probe's answer, computed once, eagerly even when called while tracing."""
    if "kernel_ok" not in _STATE:
        with tf.init_scope():
            _STATE["kernel_ok"] = _native_grouped_conv_works(tf)
    return _STATE["kernel_ok"]


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
