"""Scorers: one per runtime, the same score(crops); the crop helpers of inference.inputs."""

import numpy as np
import pytest

from tfdeepfake.faces.crop import STORED_MARGIN, stored_crop_size
from tfdeepfake.inference.inputs import even_positions, model_inputs
from tfdeepfake.inference.scorers import KerasScorer


def _crops(preset, n, seed=0):
    side = stored_crop_size(preset)
    return np.random.default_rng(seed).integers(0, 256, (n, side, side, 3), dtype=np.uint8)


def test_keras_scorer_frames_match_the_model_and_batches_do_not_matter():
    from tfdeepfake import create_model

    model = create_model("autoatt_b4_tiny")
    crops = _crops(model.preset, 5)
    scorer = KerasScorer(model, model.preset)
    video, frames = scorer.score(crops, STORED_MARGIN, batch_size=2)
    logits = np.asarray(model(model_inputs(crops, STORED_MARGIN, model.preset))["logit"])
    np.testing.assert_allclose(frames, 1 / (1 + np.exp(-logits.reshape(-1))), atol=1e-5)
    again, _ = scorer.score(crops, STORED_MARGIN, batch_size=5, mapper=lambda f, xs: [
        f(x) for x in reversed(xs)][::-1])
    assert video == pytest.approx(again, abs=1e-6) and 0.0 < video < 1.0
    assert scorer.explainable


def test_keras_scorer_sequence_model_scores_an_even_clip():
    from tfdeepfake import create_model

    model = create_model("resnet_lstm_tiny")
    crops = _crops(model.preset, model.preset.frames + 3, seed=1)
    video, frames = KerasScorer(model, model.preset).score(crops)
    scored = ~np.isnan(frames)
    assert scored.sum() == model.preset.frames and 0.0 < video < 1.0
    assert list(np.flatnonzero(scored)) == list(even_positions(len(crops), model.preset.frames))


def test_even_positions():
    assert list(even_positions(10, 4)) == [0, 3, 6, 9] and list(even_positions(2, 5)) == [0, 1]
