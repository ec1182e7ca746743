"""Losses against numpy / hand values; optimisers and schedules of the references."""

import keras
import numpy as np
import pytest

from tfdeepfake.training import losses
from tfdeepfake.training.config import OptimizerConfig
from tfdeepfake.training.optimizers import (
    PlateauController,
    build_optimizer,
    learning_rate_schedule,
)


def _np_bce(y, z):
    p = 1 / (1 + np.exp(-z))
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def _value(x):
    return float(keras.ops.convert_to_numpy(x))


LABELS = np.array([[1.0], [0.0], [1.0], [1.0]], np.float32)
LOGITS = np.array([[2.0], [-1.0], [-0.5], [0.3]], np.float32)


def test_bce_with_logits_matches_numpy_and_is_stable():
    expected = _np_bce(LABELS, LOGITS.astype(np.float64)).mean()
    assert _value(losses.bce_with_logits(LABELS, LOGITS)) == pytest.approx(expected, rel=1e-6)
    # Large logits: the naive formula overflows, ours gives the limit (|z| for a wrong sign).
    big = losses.bce_with_logits(np.array([[0.0], [1.0]]), np.array([[200.0], [-300.0]]))
    assert _value(big) == pytest.approx(250.0)


def test_label_clipping_replaces_hard_targets():
    clipped = _value(losses.bce_with_logits(LABELS, LOGITS, label_clip=0.01))
    y = np.clip(LABELS, 0.01, 0.99)
    z = LOGITS.astype(np.float64)
    expected = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))
    assert clipped == pytest.approx(expected, rel=1e-6)
    assert clipped != pytest.approx(_value(losses.bce_with_logits(LABELS, LOGITS)))


def test_balanced_bce_is_mean_of_fake_and_real_means():
    terms = _np_bce(LABELS, LOGITS.astype(np.float64))[:, 0]
    fake, real = terms[[0, 2, 3]].mean(), terms[1]
    assert _value(losses.balanced_bce(LABELS, LOGITS)) == pytest.approx((fake + real) / 2, 1e-6)
    # With 3 fakes and 1 real the plain mean weights the real 1/4; balanced gives it 1/2.
    assert _value(losses.bce_with_logits(LABELS, LOGITS)) == pytest.approx(terms.mean(), 1e-6)
    one_class = losses.balanced_bce(np.ones((2, 1)), np.array([[1.0], [2.0]]))
    assert _value(one_class) == pytest.approx(_np_bce(1, np.array([1.0, 2.0])).mean() / 2)


def test_triplet_margin_loss_matches_hand_values():
    a = np.array([[0.0, 0.0], [1.0, 1.0]], np.float32)
    p = np.array([[3.0, 4.0], [1.0, 1.0]], np.float32)  # d(a, p) = 5, 0
    n = np.array([[0.0, 1.0], [4.0, 5.0]], np.float32)  # d(a, n) = 1, 5
    # max(5 - 1 + 1, 0) = 5 and max(0 - 5 + 1, 0) = 0 -> mean 2.5 (eps shifts it by ~1e-6)
    assert _value(losses.triplet_margin_loss(a, p, n, margin=1.0)) == pytest.approx(2.5, 1e-5)
    stacked = np.stack([a, p, n], axis=1).reshape(6, 2)  # (anchor, positive, negative) rows
    assert _value(losses.stacked_triplet_loss(stacked, 1.0)) == pytest.approx(2.5, 1e-5)
    assert _value(losses.stacked_triplet_loss(stacked, 0.0)) == pytest.approx(2.0, 1e-5)


def test_attention_mask_loss_against_numpy():
    rng = np.random.default_rng(0)
    attention = rng.uniform(0.05, 0.95, (2, 2, 2, 1)).astype(np.float32)
    masks = np.zeros((2, 4, 4, 1), np.float32)
    masks[0, :2, :2] = 0.9  # top-left quarter manipulated -> target cell (0, 0) of 2x2
    expected_target = np.zeros((2, 2, 1))
    expected_target[0, 0] = 1
    a = attention[0].astype(np.float64)
    bce0 = -(expected_target * np.log(a) + (1 - expected_target) * np.log(1 - a)).mean()
    only_first = losses.attention_mask_loss(attention, masks, has_mask=np.array([1.0, 0.0]))
    assert _value(only_first) == pytest.approx(bce0, rel=1e-5)
    none = losses.attention_mask_loss(attention, masks, has_mask=np.zeros(2))
    assert _value(none) == 0.0


def test_schedules_follow_their_formulas():
    poly = learning_rate_schedule(OptimizerConfig(learning_rate=0.01, schedule="poly"), 100)
    assert _value(poly(0)) == pytest.approx(0.01)
    assert _value(poly(50)) == pytest.approx(0.01 * 0.5**0.9, rel=1e-5)
    assert _value(poly(100)) == pytest.approx(0.0, abs=1e-9)
    warm = learning_rate_schedule(
        OptimizerConfig(learning_rate=0.01, schedule="poly", warmup_steps=10), 110
    )
    assert _value(warm(4)) == pytest.approx(0.005)
    cosine = learning_rate_schedule(
        OptimizerConfig(learning_rate=0.1, schedule="cosine", end_learning_rate=0.0), 100
    )
    assert _value(cosine(50)) == pytest.approx(0.05, rel=1e-4)
    assert learning_rate_schedule(OptimizerConfig(learning_rate=0.3), 10) == 0.3


def test_reference_optimisers():
    sgd = build_optimizer(OptimizerConfig(name="sgd", learning_rate=0.01, weight_decay=1e-4), 10)
    assert isinstance(sgd, keras.optimizers.SGD)
    assert sgd.nesterov and sgd.momentum == 0.9 and sgd.weight_decay == pytest.approx(1e-4)
    adamw = build_optimizer(OptimizerConfig(name="adamw", schedule="cosine"), 10)
    assert isinstance(adamw, keras.optimizers.AdamW)
    with pytest.raises(ValueError, match="optimizer.name must be adam, sgd or adamw"):
        build_optimizer(OptimizerConfig(name="rmsprop"), 10)


def test_plateau_controller_reduces_after_patience():
    optimizer = keras.optimizers.Adam(1e-3)
    plateau = PlateauController(optimizer, factor=0.1, patience=2, higher_is_better=True)
    assert not plateau.update(0.8)  # first value: best
    assert not plateau.update(0.7)  # 1 without improvement
    assert plateau.update(0.75)  # 2 -> reduce
    assert _value(optimizer.learning_rate) == pytest.approx(1e-4)
    assert not plateau.update(0.9)  # improvement resets the count
    assert int(plateau.wait.numpy()) == 0


def _np_pairs(features):
    f = features / np.linalg.norm(features, axis=1, keepdims=True)
    i, j = np.triu_indices(len(f), k=1)
    return np.sum((f[i] - f[j]) ** 2, axis=1), i, j


def test_uniformity_and_alignment_match_their_definitions():
    rng = np.random.default_rng(0)
    features = rng.standard_normal((6, 5)).astype(np.float32)
    labels = np.array([1, 0, 1, 1, 0, 0], np.float32)[:, None]
    sq, i, j = _np_pairs(features.astype(np.float64))
    uniformity = np.log(np.mean(np.exp(-2.0 * sq)))
    same = labels[i, 0] == labels[j, 0]
    alignment = np.mean(sq[same])  # alpha 2: the squared distance
    assert _value(losses.uniformity_loss(features, t=2.0)) == pytest.approx(uniformity, rel=1e-5)
    assert _value(losses.alignment_loss(features, labels)) == pytest.approx(alignment, rel=1e-5)
    assert _value(losses.alignment_loss(features, labels, alpha=1.0)) == pytest.approx(
        np.mean(np.sqrt(sq[same])), rel=1e-4
    )


def test_uniformity_prefers_spread_features_and_alignment_same_class_ones():
    collapsed = np.ones((4, 3), np.float32)
    spread = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0]], np.float32)
    assert _value(losses.uniformity_loss(collapsed)) == pytest.approx(0.0, abs=1e-6)
    assert _value(losses.uniformity_loss(spread)) < -1.0
    labels = np.array([0, 0, 1, 1], np.float32)
    assert _value(losses.alignment_loss(collapsed, labels)) == pytest.approx(0.0, abs=1e-5)
    assert _value(losses.alignment_loss(spread, labels)) == pytest.approx(4.0, rel=1e-5)
    # No pair shares a label: the term is 0, not NaN.
    assert _value(losses.alignment_loss(spread[:2], np.array([0, 1]))) == 0.0


def test_cosine_warm_restarts_restart_at_the_peak():
    config = OptimizerConfig(learning_rate=0.1, schedule="cosine_restarts", restart_steps=10,
                             end_learning_rate=0.001)
    sgdr = learning_rate_schedule(config, 100)
    assert _value(sgdr(0)) == pytest.approx(0.1)
    assert _value(sgdr(5)) == pytest.approx(0.001 + 0.099 * 0.5, rel=1e-4)
    assert _value(sgdr(9)) < 0.005
    assert _value(sgdr(10)) == pytest.approx(0.1)  # restart
    longer = learning_rate_schedule(
        OptimizerConfig(learning_rate=0.1, schedule="cosine_restarts", restart_steps=10,
                        restart_mult=2.0, restart_decay=0.5), 100)
    assert _value(longer(10)) == pytest.approx(0.05)  # second cycle: half the peak...
    assert _value(longer(20)) == pytest.approx(0.025, rel=1e-4)  # ...and 20 steps long
    assert _value(longer(30)) == pytest.approx(0.025)
    warm = learning_rate_schedule(
        OptimizerConfig(learning_rate=0.1, schedule="cosine_restarts", restart_steps=10,
                        warmup_steps=4), 100)
    assert _value(warm(1)) == pytest.approx(0.05)
    assert _value(warm(4)) == pytest.approx(0.1) and _value(warm(14)) == pytest.approx(0.1)
    default = learning_rate_schedule(OptimizerConfig(learning_rate=0.1,
                                                     schedule="cosine_restarts"), 40)
    assert _value(default(10)) == pytest.approx(0.1)  # a quarter of the run per cycle
