"""Shared pieces of the detectors: the detector protocol (``DeepfakeModel``: what export,
explanation and evaluation ask a model instead of checking its class), call-time checks of
image inputs with errors that say the fix, the time-folding layers of the clip models, the
check of model keyword arguments, and ``sublayers`` (every layer inside a model).

A detector is a functional-subclass Keras model (the graph is built in ``__init__``). Keras'
own checks of a functional model's inputs name neither the fix nor the dtype (integer images
are cast silently), and a wrong channel count surfaces deep inside a convolution.
``ImageInputChecks`` checks every image input (eager calls, every trace, and the data given
to ``fit``, ``evaluate``, ``predict`` and the ``*_on_batch`` methods: see ``CheckedInputs``)
against an ``ImageSpec`` and raises a ``ValueError`` that names the input, the expected shape
and dtype, and what to do.

Example:
    >>> class MyDetector(ImageInputChecks, keras.Model):
    ...     def __init__(self, input_size=32, **kwargs):
    ...         images = keras.Input((input_size, input_size, 3), name="images")
    ...         ...
    ...         super().__init__(inputs=images, outputs=outputs, **kwargs)
    ...         self.image_specs = (ImageSpec("images", input_size),)
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import keras
from keras import layers, ops

FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")


class DeepfakeModel:
    """The detector protocol: every tfdeepfake model class has it as a base, and the jobs
    (export, explanation, evaluation, the ensemble) ask it instead of checking the class.

    Attributes:
        preset: the ``Preset`` the model was built from (``create_model`` and
            ``runs.load_run`` set it); None for a model built from its class directly.
        feature_map_layer: the last conv layer (the Grad-CAM target), or None (ViTs are
            explained by attention rollout over ``attention_layers``).
        attention_layers: the attention layers, first to last, for attention rollout; empty
            for convolutional models.
    """

    preset: Any = None
    feature_map_layer: str | None = None
    attention_layers: Sequence[str] = ()

    def float_layers(self) -> tuple[str, ...]:
        """Names of the layers whose ops must stay float32 in a full-integer (int8) export:
        none unless the model says so (an SSIM branch divides near-zero values)."""
        return ()

    def static_export_copy(self, frames: int) -> keras.Model | None:
        """The model with every shape but the batch fixed (clips: ``frames`` long) and the
        same weights: the graph full-integer TFLite can calibrate. ``self`` when its shapes
        already are static; None when the model has no such copy (export then refuses int8)."""
        return self


def require_detector(model: Any, purpose: str) -> DeepfakeModel:
    """``model`` when it is a tfdeepfake detector, else a ``TypeError`` that says the fix."""
    if not isinstance(model, DeepfakeModel):
        raise TypeError(
            f"{purpose} needs a tfdeepfake model (tfdeepfake.create_model(name) or "
            f"tfdeepfake.runs.load_run(run_dir).model); got {type(model).__name__}."
        )
    return model


@dataclasses.dataclass(frozen=True)
class ImageSpec:
    """What one image input of a model must look like: (N, size, size, channels), float.

    Attributes:
        name: the input's name (the key when the model takes a dict of inputs).
        size: the square side in pixels, or None when any size is accepted.
        channels: the channel count (3 = RGB).
    """

    name: str
    size: int | None = None
    channels: int = 3

    @property
    def expected(self) -> str:
        side = "H" if self.size is None else str(self.size)
        return f"(batch, {side}, {side if self.size else 'W'}, {self.channels}) float32"


def _shape_and_dtype(x: Any) -> tuple[tuple, str]:
    if not hasattr(x, "shape") or not hasattr(x, "dtype"):
        x = ops.convert_to_tensor(x)
    shape = tuple(None if d is None else int(d) for d in x.shape)
    return shape, keras.backend.standardize_dtype(x.dtype)


def validate_image_input(x: Any, spec: ImageSpec, model_name: str = "model") -> None:
    """Raise a ``ValueError`` naming the expected shape/dtype when ``x`` does not fit ``spec``.

    Checks the rank (4), a non-empty batch, the channel count, the spatial size (when
    ``spec.size`` is set and the dimension is known) and that the dtype is floating point.
    Unknown (None) dimensions of symbolic tensors pass.
    """
    shape, dtype = _shape_and_dtype(x)
    where = f"{model_name}: input {spec.name!r} must be {spec.expected}"
    if len(shape) != 4:
        hint = ""
        if len(shape) == 3:
            hint = " For a single image add a batch axis, e.g. images[None]."
        elif len(shape) == 5:
            hint = " For clips of frames fold time into the batch: reshape to (N*T, H, W, C)."
        raise ValueError(f"{where}; got rank {len(shape)} with shape {shape}.{hint}")
    if shape[0] == 0:
        raise ValueError(
            f"{where}; got an empty batch (shape {shape}). Skip the call when there is no face."
        )
    channels = shape[-1]
    if channels is not None and channels != spec.channels:
        raise ValueError(
            f"{where}; got {channels} channels (shape {shape}). Pass RGB face crops with the "
            "channels last (convert grey or RGBA images to RGB, and NCHW to NHWC)."
        )
    if spec.size is not None:
        spatial = shape[1:3]
        if any(d is not None and d != spec.size for d in spatial):
            raise ValueError(
                f"{where}; got spatial size {spatial[0]}x{spatial[1]} (shape {shape}). Resize the "
                f"faces to {spec.size}x{spec.size} (FacePreprocessor(size={spec.size}) does it) "
                "or build the model for your size with create_model(name, input_size=...)."
            )
    if dtype not in FLOAT_DTYPES:
        raise ValueError(
            f"{where}; got dtype {dtype}. The model takes normalised floats: pass uint8 or "
            "[0, 255] images through the preset's FacePreprocessor "
            "(tfdeepfake.models.preprocessor_for(model.preset)) first."
        )


def validate_image_inputs(
    inputs: Any, specs: Sequence[ImageSpec], model_name: str = "model"
) -> None:
    """Check a model's inputs (one tensor, a list in ``specs`` order, or a dict by name)."""
    if isinstance(inputs, Mapping):
        missing = [s.name for s in specs if s.name not in inputs]
        if missing:
            raise ValueError(
                f"{model_name}: missing input(s) {missing}; got keys {sorted(inputs)}. "
                f"Pass a dict with keys {[s.name for s in specs]}."
            )
        extra = sorted(set(inputs) - {s.name for s in specs})
        if extra:
            raise ValueError(
                f"{model_name}: unexpected input(s) {extra}; the model takes "
                f"{[s.name for s in specs]}."
            )
        for spec in specs:
            validate_image_input(inputs[spec.name], spec, model_name)
        return
    if isinstance(inputs, (list, tuple)):
        if len(inputs) != len(specs):
            raise ValueError(
                f"{model_name}: expected {len(specs)} input(s) {[s.name for s in specs]}; "
                f"got {len(inputs)}."
            )
        for x, spec in zip(inputs, specs):
            validate_image_input(x, spec, model_name)
        return
    if len(specs) != 1:
        raise ValueError(
            f"{model_name}: expected a dict with inputs {[s.name for s in specs]}; got one tensor."
        )
    validate_image_input(inputs, specs[0], model_name)


class CheckedInputs(DeepfakeModel):
    """The detector protocol plus input checks before Keras runs the model.

    ``check_inputs`` runs in ``__call__`` (eager calls and every trace, before Keras' own
    input-spec check) and on the ``x`` given to ``fit``, ``evaluate``, ``predict`` and the
    ``*_on_batch`` methods. The second is needed because Keras' TensorFlow trainer traces its
    compiled step again for a new input shape with the differing dimensions relaxed to None,
    which a trace-time check cannot see: a 48 px batch would run through a 64 px model.
    Arrays, tensors, containers of them and a dataset's ``element_spec`` are checked there;
    generators and ``PyDataset``s only per trace.

    Put it before ``keras.Model`` in the bases and define ``check_inputs``.
    """

    def check_inputs(self, inputs: Any) -> None:
        """Raise a ``ValueError`` naming the expected input and the fix when ``inputs`` does
        not fit the model."""
        raise NotImplementedError

    def _check_data(self, x: Any) -> None:
        if hasattr(x, "element_spec"):  # a tf.data.Dataset: check what its batches will be
            x = keras.utils.unpack_x_y_sample_weight(x.element_spec)[0]
        elif not (hasattr(x, "shape") or isinstance(x, (Mapping, list, tuple))):
            return  # None, a generator or a PyDataset: checked when traced
        self.check_inputs(x)

    def __call__(self, *args, **kwargs):
        self.check_inputs(args[0] if args else kwargs.get("inputs"))
        return super().__call__(*args, **kwargs)

    def fit(self, x=None, *args, **kwargs):
        self._check_data(x)
        return super().fit(x, *args, **kwargs)

    def evaluate(self, x=None, *args, **kwargs):
        self._check_data(x)
        return super().evaluate(x, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        self._check_data(x)
        return super().predict(x, *args, **kwargs)

    def train_on_batch(self, x, *args, **kwargs):
        self._check_data(x)
        return super().train_on_batch(x, *args, **kwargs)

    def test_on_batch(self, x, *args, **kwargs):
        self._check_data(x)
        return super().test_on_batch(x, *args, **kwargs)

    def predict_on_batch(self, x):
        self._check_data(x)
        return super().predict_on_batch(x)


class ImageInputChecks(CheckedInputs):
    """``CheckedInputs`` for image models: each input must fit its ``ImageSpec``.

    Set ``self.image_specs`` (a tuple of ``ImageSpec``, in the order of the model's inputs)
    after ``super().__init__``.
    """

    image_specs: tuple[ImageSpec, ...] = ()

    def check_inputs(self, inputs: Any) -> None:
        validate_image_inputs(inputs, self.image_specs, self.name)


@keras.saving.register_keras_serializable(package="tfdeepfake")
class FoldTime(layers.Layer):
    """(N, T, H, W, C) clips -> (N * T, H, W, C) frames."""

    def call(self, clips):
        shape = ops.shape(clips)
        return ops.reshape(clips, (-1, *shape[2:]))

    def compute_output_shape(self, input_shape):
        n, t = input_shape[:2]
        return (None if n is None or t is None else n * t, *input_shape[2:])


@keras.saving.register_keras_serializable(package="tfdeepfake")
class UnfoldTime(layers.Layer):
    """(N * T, ...) per-frame values -> (N, T, ...), with N and T read from the clips."""

    def call(self, values, clips):
        shape = ops.shape(clips)
        return ops.reshape(values, (shape[0], shape[1], *values.shape[1:]))

    def compute_output_shape(self, values_shape, clips_shape):
        return (clips_shape[0], clips_shape[1], *values_shape[1:])


MODEL_KWARGS = ("name", "trainable", "dtype")


def check_model_kwargs(cls: type, kwargs: dict[str, Any]) -> None:
    """Raise a ``TypeError`` for keyword arguments the model does not know (Keras would drop
    them silently), listing the ones it takes."""
    unknown = sorted(set(kwargs) - set(MODEL_KWARGS))
    if unknown:
        known = [
            p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "kwargs")
        ]
        raise TypeError(
            f"{cls.__name__} got unknown argument(s) {unknown}; it takes "
            f"{known + list(MODEL_KWARGS)}."
        )


def sublayers(model: keras.Model) -> list[keras.layers.Layer]:
    """Every layer inside ``model``, nested models' layers included, in build order (the one
    place that calls Keras' private ``_flatten_layers``)."""
    return list(model._flatten_layers(include_self=False, recursive=True))
