"""One scorer per runtime, all with the same ``score(crops)``: a track's stored face crops
in, ``(video probability, per-frame probabilities)`` out (NaN where a frame is unscored).

``KerasScorer`` runs a Keras model (and can be explained: heatmaps need its layers);
``LiteRTScorer`` runs an exported ``.tflite`` file. The ``Detector`` averages the scorers of
one model (its seeds) and never asks which runtime it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tfdeepfake.faces.crop import STORED_MARGIN
from tfdeepfake.inference.compiled import CompiledForward, batch_shape, pad_batch
from tfdeepfake.inference.inputs import centre_crops, even_positions
from tfdeepfake.scoring.aggregation import aggregate, sigmoid
from tfrecords_tools.margins import recrop_fraction

Mapper = Callable[[Callable, Sequence], list]


def _serial(fn: Callable, items: Sequence) -> list:
    return [fn(item) for item in items]


class KerasScorer:
    """A Keras detector on stored crops (the preset's centre crop, resize and normalisation),
    scored through ``CompiledForward``: uint8 crops in, the rest compiled on the device.

    Args:
        model: the Keras model.
        preset: its ``Preset``.
        compatibility: ``""``, or ``"independent_frames"`` for imported ResNeXt-LSTM weights
            (see ``tfdeepfake.weights.compat``).
    """

    explainable = True

    def __init__(self, model: Any, preset: Any, compatibility: str = ""):
        self.model, self.preset, self.compatibility = model, preset, compatibility
        forward = None
        if compatibility == "independent_frames":
            from tfdeepfake.weights.compat import compat_frame_logits

            def forward(m, clips):
                return {"frame_logits": compat_frame_logits(m, clips)}
        self.compiled = CompiledForward(model, preset, forward)
        self.pads = self.compiled.static_shapes  # JAX: one compilation per batch shape

    def device_pixels(self, crops, stored_margin, landmarks=None, boxes=None):
        """``(pixels, fraction)`` for ``CompiledForward``: the stored uint8 crops and the
        centre fraction to keep, or (faces warped one by one) float32 pixels at the model's
        size and None."""
        preset = self.preset
        if preset.crop_mode in ("aligned", "stretch"):
            from tfdeepfake.data.crops import preset_pixels

            pixels = preset_pixels(crops, stored_margin, preset, landmarks, boxes)
            return np.asarray(pixels, np.float32), None
        crops = np.asarray(crops)
        if crops.ndim != 4 or crops.shape[-1] != 3:
            raise ValueError(f"crops must be (N, S, S, 3) RGB, got shape {crops.shape}.")
        return crops, recrop_fraction(float(stored_margin), preset.face_margin)

    def score(
        self,
        crops: np.ndarray,
        stored_margin: float = STORED_MARGIN,
        landmarks: np.ndarray | None = None,
        batch_size: int = 8,
        mapper: Mapper = _serial,
        boxes: np.ndarray | None = None,
    ) -> tuple[float, np.ndarray]:
        """``(video probability, per-frame probabilities)``; ``landmarks`` (T, 10) in crop
        pixels for ``crop_mode="aligned"`` presets, ``boxes`` (T, 4) in frame pixels for
        ``crop_mode="stretch"`` ones; ``mapper`` runs the batches (e.g. on threads). On JAX
        batches are padded to ``batch_shape`` rows, so few shapes are ever compiled."""
        preset = self.preset
        pixels, fraction = self.device_pixels(crops, stored_margin, landmarks, boxes)
        if preset.sequence:
            positions = even_positions(len(pixels), preset.frames)
            out = self.compiled(pixels[positions][None], fraction)
            probs = np.full(len(pixels), np.nan)
            frame_logits = out["frame_logits"].reshape(-1)
            if self.compatibility == "independent_frames":
                video = aggregate(frame_logits, "mean_logit")
            else:
                video = aggregate(out["logit"].reshape(-1), "sequence")
            probs[positions] = sigmoid(frame_logits)
            return float(video.probability), probs

        def run(batch):
            rows = len(batch)
            if self.pads:  # to few shapes
                batch = pad_batch(batch, batch_shape(rows, batch_size))
            return self.compiled(batch, fraction)["logit"].reshape(-1)[:rows]

        batches = [pixels[i : i + batch_size] for i in range(0, len(pixels), batch_size)]
        logits = np.concatenate(mapper(run, batches))
        return float(aggregate(logits, preset.aggregation).probability), sigmoid(logits)


class LiteRTScorer:
    """An exported ``.tflite`` detector run by LiteRT: the centre re-crop (or alignment)
    here, resize and normalisation inside the converted model."""

    explainable = False

    def __init__(self, runner: Any, preset: Any):
        self.model, self.preset = runner, preset

    def score(
        self,
        crops: np.ndarray,
        stored_margin: float = STORED_MARGIN,
        landmarks: np.ndarray | None = None,
        batch_size: int = 8,
        mapper: Mapper = _serial,
        boxes: np.ndarray | None = None,
    ) -> tuple[float, np.ndarray]:
        """``(video probability, per-frame probabilities)`` (``mapper`` is not needed)."""
        preset = self.preset
        crops = centre_crops(crops, stored_margin, preset, landmarks, boxes)
        if preset.sequence:  # a converted clip model takes exactly preset.frames frames
            positions = np.linspace(0, len(crops) - 1, preset.frames).round().astype(int)
            logit = self.model.predict(crops[positions][None])["logit"]
            return float(aggregate(logit, "sequence").probability), np.full(len(crops), np.nan)
        logits = self.model.predict(crops, batch_size=batch_size)["logit"]
        return float(aggregate(logits, preset.aggregation).probability), sigmoid(logits)
