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
from tfdeepfake.inference.inputs import centre_crops, even_positions, model_inputs
from tfdeepfake.scoring.aggregation import aggregate, sigmoid

Mapper = Callable[[Callable, Sequence], list]


def _serial(fn: Callable, items: Sequence) -> list:
    return [fn(item) for item in items]


class KerasScorer:
    """A Keras detector on stored crops (the preset's centre crop, resize and normalisation).

    Args:
        model: the Keras model.
        preset: its ``Preset``.
        compatibility: ``""``, or ``"independent_frames"`` for imported ResNeXt-LSTM weights
            (see ``tfdeepfake.weights.compat``).
    """

    explainable = True

    def __init__(self, model: Any, preset: Any, compatibility: str = ""):
        self.model, self.preset, self.compatibility = model, preset, compatibility

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
        ``crop_mode="stretch"`` ones; ``mapper`` runs the batches (e.g. on threads)."""
        preset = self.preset
        inputs = model_inputs(crops, stored_margin, preset, landmarks, boxes)
        if preset.sequence:
            positions = even_positions(len(inputs), preset.frames)
            clip = inputs[positions][None]
            probs = np.full(len(inputs), np.nan)
            if self.compatibility == "independent_frames":
                from tfdeepfake.weights.compat import compat_frame_logits

                frame_logits = np.asarray(compat_frame_logits(self.model, clip)).reshape(-1)
                video = aggregate(frame_logits, "mean_logit")
            else:
                out = self.model.predict_on_batch(clip)
                frame_logits = np.asarray(out["frame_logits"]).reshape(-1)
                video = aggregate(np.asarray(out["logit"]).reshape(-1), "sequence")
            probs[positions] = sigmoid(frame_logits)
            return float(video.probability), probs
        batches = [inputs[i : i + batch_size] for i in range(0, len(inputs), batch_size)]
        logits = np.concatenate(mapper(
            lambda batch: np.asarray(self.model.predict_on_batch(batch)["logit"]).reshape(-1),
            batches,
        ))
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
