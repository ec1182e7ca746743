"""The ensemble: one Keras model from raw face clips to the averaged video probability.

Each member gets its own ``FacePreprocessor`` (resize to its input size, its mean/std). Frame
models see the T frames folded into the batch and their frame logits are averaged over time
(mean logit); the sequence model reads the whole clip. Every member's video probability is
``sigmoid(video logit)``; the ensemble's probability is their mean, compared to ``threshold``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import keras
from keras import layers, ops

from tfdeepfake.models.base import (
    CheckedInputs,
    FoldTime,
    UnfoldTime,
    check_model_kwargs,
    require_detector,
)
from tfdeepfake.models.preprocessing import FacePreprocessor
from tfdeepfake.models.presets import check_input_size, get_preset, list_models

_EPSILON = 1e-7


@keras.saving.register_keras_serializable(package="tfdeepfake")
class NeighbourFrames(layers.Layer):
    """(N, T, ...) clips -> frame min(t + 1, T - 1) for each t: the reference faces of a paired
    SSIM member (the last frame is its own reference)."""

    def call(self, clips):
        return ops.concatenate([clips[:, 1:], clips[:, -1:]], axis=1)


@keras.saving.register_keras_serializable(package="tfdeepfake")
class TimeMean(layers.Layer):
    """(N, T, C) -> (N, C): the mean over time."""

    def call(self, values):
        return ops.mean(values, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *input_shape[2:])


@keras.saving.register_keras_serializable(package="tfdeepfake")
class MeanProbability(layers.Layer):
    """(N, M) member probabilities -> (N, 1) their mean."""

    def call(self, probabilities):
        return ops.mean(probabilities, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)


@keras.saving.register_keras_serializable(package="tfdeepfake")
class ProbabilityToLogit(layers.Layer):
    """Probabilities -> logits ``log(p / (1 - p))``, with p clipped to [1e-7, 1 - 1e-7]."""

    def call(self, probabilities):
        p = ops.clip(probabilities, _EPSILON, 1.0 - _EPSILON)
        return ops.log(p) - ops.log1p(-p)


def _member_preprocessing(name: str, model: keras.Model) -> dict[str, Any]:
    """Mean/std from the member's preset, the resize side from its input shape."""
    preset = model.preset or get_preset(name)
    size = model.inputs[0].shape[-2]
    return {
        "mean": list(preset.mean),
        "std": list(preset.std),
        "size": int(size) if size is not None else int(preset.input_size),
    }


def validate_raw_clip_input(x: Any, size: int | None, model_name: str) -> None:
    """Raise a ``ValueError`` naming the expected (N, T, S, S, 3) clip of [0, 255] RGB crops."""
    if isinstance(x, (list, tuple, dict)):
        raise ValueError(f"{model_name}: expected one clip tensor; got a {type(x).__name__}.")
    if not hasattr(x, "shape"):
        x = ops.convert_to_tensor(x)
    shape = tuple(None if d is None else int(d) for d in x.shape)
    side = "S" if size is None else str(size)
    where = (
        f"{model_name}: input 'clips' must be (batch, frames, {side}, {side}, 3) RGB face crops "
        "with values in [0, 255]"
    )
    if len(shape) != 5:
        hint = ""
        if len(shape) == 4:
            hint = " For one video's faces add a batch axis: faces[None] gives (1, T, H, W, 3)."
        raise ValueError(f"{where}; got rank {len(shape)} with shape {shape}.{hint}")
    if shape[0] == 0:
        raise ValueError(
            f"{where}; got an empty batch (shape {shape}). Skip the call when there is no clip."
        )
    if shape[1] == 0:
        raise ValueError(f"{where}; got 0 frames (shape {shape}). Give at least one frame.")
    if shape[-1] is not None and shape[-1] != 3:
        raise ValueError(f"{where}; got {shape[-1]} channels (shape {shape}). Convert to RGB.")
    if size is not None and any(d is not None and d != size for d in shape[2:4]):
        raise ValueError(f"{where}; got frames of {shape[2]}x{shape[3]}. Crop them at {size} px.")


@keras.saving.register_keras_serializable(package="tfdeepfake")
class DeepfakeEnsemble(CheckedInputs, keras.Model):
    """Average of the members' video probabilities, from raw face clips.

    Input: ``"clips"`` (N, T, S, S, 3), RGB face crops with values in [0, 255] (uint8 or
    float), any T >= 1; S is ``input_size`` (None: any size, each member resizes).
    Outputs (a dict):
        ``"probability"`` (N, 1): mean of the member video probabilities (1 = fake);
        ``"logit"`` (N, 1): the logit of that probability;
        ``"member_probabilities"`` (N, M): each member's video probability, in ``members`` order;
        ``"frame_logits"`` (N, T, M): each member's logit per frame.

    Args:
        members: preset names (the members are built from their presets) or a mapping
            name -> built model (see ``from_members``).
        threshold: probability at or above which a video is called FAKE.
        input_size: side of the input crops, or None for any size.
        member_configs, member_preprocessing: the serialised members and their
            preprocessing, as written by ``get_config`` (used when reloading).

    Example:
        >>> ensemble = DeepfakeEnsemble(("resnet_lstm_tiny", "autoatt_b4_tiny"))
        >>> ensemble(np.zeros((1, 4, 48, 48, 3), "uint8"))["member_probabilities"].shape
        TensorShape([1, 2])
    """

    def __init__(
        self,
        members: Sequence[str] | Mapping[str, keras.Model] = (
            "resnet_lstm",
            "autoatt_b4",
            "b7_ssim",
        ),
        threshold: float = 0.5,
        input_size: int | None = None,
        member_configs: Sequence[dict] | None = None,
        member_preprocessing: Sequence[dict] | None = None,
        **kwargs: Any,
    ):
        from tfdeepfake.models.registry import create_model

        check_model_kwargs(type(self), kwargs)
        if isinstance(members, str):
            raise ValueError(f"members must be a list of preset names; got the string {members!r}.")
        names = list(members)
        if not all(isinstance(n, str) for n in names):
            raise TypeError(
                "members must be preset names, or a dict preset name -> built model "
                f"(DeepfakeEnsemble.from_members); got {[type(n).__name__ for n in names]}."
            )
        if not names:
            raise ValueError("members is empty; give at least one preset name.")
        if len(set(names)) != len(names):
            raise ValueError(f"members has duplicate names: {names}.")
        if not 0.0 < float(threshold) < 1.0:
            raise ValueError(f"threshold must be a probability in (0, 1); got {threshold}.")
        if isinstance(members, Mapping):
            unknown = [n for n in names if n not in list_models()]
            if unknown:
                raise ValueError(
                    f"Ensemble members {unknown} are not preset names: key each model by the "
                    f"preset it was built from, one of {list_models()}."
                )
            models = [require_detector(m, f"ensemble member {n!r}") for n, m in members.items()]
        elif member_configs is not None:
            models = [keras.saving.deserialize_keras_object(c) for c in member_configs]
        else:
            models = [create_model(get_preset(n).with_overrides(name=n)) for n in names]
        model_names = [m.name for m in models]
        if len(set(model_names)) != len(model_names):
            raise ValueError(
                f"The member models' names {model_names} must be unique inside one Keras model; "
                "build them with distinct names, e.g. "
                "create_model(get_preset(p).with_overrides(name=p))."
            )
        if member_preprocessing is None or isinstance(members, Mapping):
            member_preprocessing = [_member_preprocessing(n, m) for n, m in zip(names, models)]

        if input_size is not None:
            input_size = check_input_size(input_size)
        clips = keras.Input((None, input_size, input_size, 3), name="clips")
        frames = FoldTime(name="fold_time")(clips)
        neighbours = None
        probabilities, frame_logits = [], []
        for name, model, prep in zip(names, models, member_preprocessing):
            sequence = len(model.inputs[0].shape) == 5
            preprocess = FacePreprocessor(**prep, name=f"{name}_preprocess")
            if sequence:
                outputs = model(preprocess(clips))
                video_logit = outputs["logit"]
                if "frame_logits" not in outputs:
                    raise ValueError(
                        f"Sequence member {name!r} must output 'frame_logits' (N, T, 1) for the "
                        "per-frame scores of the report."
                    )
                per_frame = outputs["frame_logits"]
            else:
                member_input = preprocess(frames)
                if len(model.inputs) > 1:  # paired SSIM member: a neighbouring frame's face
                    if neighbours is None:
                        neighbours = FoldTime(name="fold_neighbours")(
                            NeighbourFrames(name="neighbour_frames")(clips)
                        )
                    member_input = {"images": member_input, "reference": preprocess(neighbours)}
                logits = model(member_input)["logit"]
                per_frame = UnfoldTime(name=f"{name}_unfold_time")(logits, clips)
                video_logit = TimeMean(name=f"{name}_video_logit")(per_frame)
            frame_logits.append(per_frame)
            probabilities.append(
                layers.Activation("sigmoid", name=f"{name}_probability")(video_logit)
            )
        if len(names) > 1:
            member_probabilities = layers.Concatenate(name="member_probabilities")(probabilities)
            all_frame_logits = layers.Concatenate(name="frame_logits")(frame_logits)
        else:
            member_probabilities = layers.Identity(name="member_probabilities")(probabilities[0])
            all_frame_logits = layers.Identity(name="frame_logits")(frame_logits[0])
        probability = MeanProbability(name="probability")(member_probabilities)
        outputs = {
            "probability": probability,
            "logit": ProbabilityToLogit(name="logit")(probability),
            "member_probabilities": member_probabilities,
            "frame_logits": all_frame_logits,
        }
        kwargs.setdefault("name", "ensemble")
        super().__init__(inputs=clips, outputs=outputs, **kwargs)

        self.members = tuple(names)
        self._member_layers = tuple(model_names)
        self.threshold = float(threshold)
        self.input_size = input_size
        self.member_preprocessing = [dict(p) for p in member_preprocessing]

    @classmethod
    def from_members(
        cls, members: Mapping[str, keras.Model], threshold: float = 0.5, **kwargs: Any
    ) -> DeepfakeEnsemble:
        """Wrap already built (e.g. trained) models, keyed by their preset names.

        Example:
            >>> ensemble = DeepfakeEnsemble.from_members(
            ...     {"resnet_lstm": keras.saving.load_model("lstm.keras"),
            ...      "autoatt_b4": keras.saving.load_model("b4.keras")})
        """
        if not isinstance(members, Mapping):
            raise TypeError(
                "from_members takes a dict of built models keyed by preset name, e.g. "
                f"{{'autoatt_b4': model}}; got a {type(members).__name__}."
            )
        return cls(members=dict(members), threshold=threshold, **kwargs)

    @property
    def member_models(self) -> dict[str, keras.Model]:
        """The member models by preset name, in ``members`` order."""
        return {n: self.get_layer(m) for n, m in zip(self.members, self._member_layers)}

    def float_layers(self) -> tuple[str, ...]:
        """The members' layers that stay float32 in int8 exports."""
        return tuple(name for m in self.member_models.values() for name in m.float_layers())

    def static_export_copy(self, frames: int) -> None:
        """None: the ensemble has no full-integer copy (export its members one by one)."""
        return None

    def check_inputs(self, inputs: Any) -> None:
        validate_raw_clip_input(inputs, self.input_size, self.name)

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "trainable": self.trainable,
            "members": list(self.members),
            "threshold": self.threshold,
            "input_size": self.input_size,
            "member_configs": [
                keras.saving.serialize_keras_object(m) for m in self.member_models.values()
            ],
            "member_preprocessing": self.member_preprocessing,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> DeepfakeEnsemble:
        return cls(**config)
