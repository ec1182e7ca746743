"""ResNet/ResNeXt per frame + LSTM over time: the ResNeXt-LSTM detector (``resnet_lstm``).

Frames are folded into the batch for the CNN (one big batch instead of ``TimeDistributed``),
pooled to 2048-d, unfolded to (N, T, 2048) and read by a batch-first LSTM with bias that runs
over TIME (the reference's LSTM ran over the batch axis; that bug is not reproduced).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import layers, ops

from tfdeepfake.models.base import (
    FLOAT_DTYPES,
    CheckedInputs,
    FoldTime,
    UnfoldTime,
    check_model_kwargs,
)
from tfdeepfake.models.presets import check_input_size
from tfdeepfake.models.resnet import (
    check_backbone_weights,
    feature_map_layer_name,
    load_backbone_weights,
    resnet_features,
    validate_resnet_args,
)


def validate_clip_input(
    x: Any, size: int | None, model_name: str = "model", frames: int | None = None
) -> None:
    """Raise a ``ValueError`` naming the expected (N, T, size, size, 3) float clip when ``x``
    does not fit it (T = ``frames`` when the model fixes it). Unknown (None) dimensions of
    symbolic tensors pass."""
    if isinstance(x, (list, tuple, dict)):
        raise ValueError(f"{model_name}: expected one clip tensor; got a {type(x).__name__}.")
    if not hasattr(x, "shape") or not hasattr(x, "dtype"):
        x = ops.convert_to_tensor(x)
    shape = tuple(None if d is None else int(d) for d in x.shape)
    dtype = keras.backend.standardize_dtype(x.dtype)
    side = "S" if size is None else str(size)
    where = f"{model_name}: input 'clips' must be (batch, frames, {side}, {side}, 3) float32"
    if len(shape) != 5:
        hint = ""
        if len(shape) == 4:
            hint = (
                " This is a sequence model: add a time axis, e.g. faces[:, None] for one frame "
                "per clip, or stack each video's T face crops as (N, T, H, W, 3)."
            )
        raise ValueError(f"{where}; got rank {len(shape)} with shape {shape}.{hint}")
    if shape[0] == 0:
        raise ValueError(
            f"{where}; got an empty batch (shape {shape}). Skip the call when there is no clip."
        )
    if shape[1] == 0:
        raise ValueError(f"{where}; got 0 frames (shape {shape}). Give at least one frame.")
    if frames is not None and shape[1] is not None and shape[1] != frames:
        raise ValueError(
            f"{model_name}: built for clips of exactly {frames} frames (frames={frames}); got "
            f"{shape[1]}. Pass {frames}-frame clips, or build the model with frames=None."
        )
    if shape[-1] is not None and shape[-1] != 3:
        raise ValueError(
            f"{where}; got {shape[-1]} channels (shape {shape}). Pass RGB face crops with the "
            "channels last."
        )
    if size is not None and any(d is not None and d != size for d in shape[2:4]):
        raise ValueError(
            f"{where}; got frames of {shape[2]}x{shape[3]} (shape {shape}). Resize the faces to "
            f"{size}x{size} (FacePreprocessor(size={size}) does it) or build the model for your "
            "size with create_model(name, input_size=...)."
        )
    if dtype not in FLOAT_DTYPES:
        raise ValueError(
            f"{where}; got dtype {dtype}. The model takes normalised floats: pass uint8 or "
            "[0, 255] crops through the preset's FacePreprocessor "
            "(tfdeepfake.models.preprocessor_for(model.preset)) first."
        )


@keras.saving.register_keras_serializable(package="tfdeepfake")
class ResNetLSTM(CheckedInputs, keras.Model):
    """ResNet50 / ResNeXt50_32x4d per frame, LSTM over time, temporal mean, dropout, logit.

    Input: normalised face clips (N, T, input_size, input_size, 3), any T >= 1.
    Outputs (a dict):
        ``"logit"`` (N, 1): video logit (1 = fake);
        ``"frame_logits"`` (N, T, 1): the classifier applied to each LSTM step;
        ``"features"`` (N, lstm_units): the temporal mean of the LSTM outputs.

    Args:
        backbone: ``"resnext50_32x4d"`` (the reference) or ``"resnet50"``.
        input_size: side of the square face crops.
        lstm_units: LSTM width (2048 in the reference).
        dropout: dropout rate before the classifier.
        block_counts, base_width: backbone depth per stage and stem width (tiny configs).
        backbone_weights: None (random), ``"imagenet"`` (Keras' ResNet50 weights; resnet50
            only) or a weights file of ``keras.applications.ResNet50(include_top=False)``.
        frames: a fixed clip length, or None (any T). With ``unroll=True`` the LSTM becomes
            T plain steps: what full-integer TFLite needs (``static_export_copy``).
        unroll: unroll the LSTM over the ``frames`` steps (needs ``frames``).

    Attributes:
        feature_map_layer: name of the last conv layer (Grad-CAM target); its output has
            time folded into the batch: (N * T, h, w, C).

    Example:
        >>> model = ResNetLSTM(input_size=32, block_counts=(1, 1, 1, 1), base_width=8,
        ...                    lstm_units=16)
        >>> model(np.zeros((2, 3, 32, 32, 3), "float32"))["frame_logits"].shape
        TensorShape([2, 3, 1])
    """

    def __init__(
        self,
        backbone: str = "resnext50_32x4d",
        input_size: int = 112,
        lstm_units: int = 2048,
        dropout: float = 0.4,
        block_counts: Sequence[int] = (3, 4, 6, 3),
        base_width: int = 64,
        backbone_weights: str | None = None,
        frames: int | None = None,
        unroll: bool = False,
        **kwargs: Any,
    ):
        check_model_kwargs(type(self), kwargs)
        input_size = check_input_size(input_size)
        block_counts = validate_resnet_args(backbone, block_counts, base_width, 32, 4)
        if backbone_weights is not None:
            check_backbone_weights(backbone, backbone_weights)
        if int(lstm_units) < 1:
            raise ValueError(f"lstm_units must be a positive integer; got {lstm_units}.")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1); got {dropout}.")
        if frames is not None and int(frames) < 1:
            raise ValueError(f"frames must be a positive integer or None; got {frames}.")
        if unroll and frames is None:
            raise ValueError("unroll=True needs a fixed clip length: pass frames=T.")
        frames = None if frames is None else int(frames)
        clips = keras.Input((frames, input_size, input_size, 3), name="clips")
        folded = FoldTime(name="fold_time")(clips)
        feature_map = resnet_features(folded, backbone, block_counts, base_width)
        pooled = layers.GlobalAveragePooling2D(name="avg_pool")(feature_map)
        sequence = UnfoldTime(name="unfold_time")(pooled, clips)
        steps = layers.LSTM(
            int(lstm_units), return_sequences=True, unroll=bool(unroll), name="lstm"
        )(sequence)
        features = layers.GlobalAveragePooling1D(name="temporal_pool")(steps)
        classifier = layers.Dense(1, name="classifier")
        logit = classifier(layers.Dropout(float(dropout), name="dropout")(features))
        frame_logits = classifier(steps)
        outputs = {"logit": logit, "frame_logits": frame_logits, "features": features}
        kwargs.setdefault("name", "resnet_lstm")
        super().__init__(inputs=clips, outputs=outputs, **kwargs)

        self.backbone = backbone
        self.input_size = int(input_size)
        self.lstm_units = int(lstm_units)
        self.dropout = float(dropout)
        self.block_counts = tuple(block_counts)
        self.base_width = int(base_width)
        self.frames = frames
        self.unroll = bool(unroll)
        self.feature_map_layer = feature_map_layer_name(block_counts)
        if backbone_weights is not None:
            load_backbone_weights(self, backbone, backbone_weights)

    def check_inputs(self, inputs: Any) -> None:
        validate_clip_input(inputs, self.input_size, self.name, self.frames)

    def static_export_copy(self, frames: int) -> ResNetLSTM:
        """This model with the clip length fixed to ``frames`` and the LSTM unrolled into
        plain steps, same weights (the calibrator cannot run TFLite's fused LSTM op)."""
        copy = type(self).from_config({**self.get_config(), "frames": frames, "unroll": True})
        copy.set_weights(self.get_weights())
        copy.preset = self.preset
        return copy

    def get_config(self) -> dict[str, Any]:
        # backbone_weights is not stored: a saved model carries its own weights, and reloading
        # it must not download ImageNet weights again.
        return {
            "name": self.name,
            "trainable": self.trainable,
            "backbone": self.backbone,
            "input_size": self.input_size,
            "lstm_units": self.lstm_units,
            "dropout": self.dropout,
            "block_counts": list(self.block_counts),
            "base_width": self.base_width,
            "frames": self.frames,
            "unroll": self.unroll,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ResNetLSTM:
        return cls(**config)
