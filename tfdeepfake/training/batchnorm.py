"""Re-estimating BatchNorm population statistics with the current weights ("precise BN").

A BatchNormalization layer normalises with the batch's statistics in training and with its
moving averages at inference. The moving averages follow the batches with momentum 0.99,
so they describe the network of the last ~100 steps. In a short run with a fast optimiser
(the quickstart's 300 Adam steps at 1e-3) the weights move faster than that: the stale
statistics squash every input into the same narrow band of outputs at inference, although
the same network separates its own training batches perfectly in training mode (measured
in docs/training.md). Recomputing the statistics as the plain mean over a few training
batches with the weights frozen removes the lag (Wu & Johnson, "Rethinking 'Batch' in
BatchNorm", 2021, section 3).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import keras
import numpy as np

from tfdeepfake.models.base import batch_norm_layers


def refresh_batch_norm(
    model: keras.Model, images: Iterable[Any], forward: Callable[[Any], Any] | None = None
) -> int:
    """Set every BatchNorm layer's moving mean and variance to the mean of its batch
    statistics over ``images`` (batches the model takes), with the weights unchanged.

    ``forward(batch)`` runs ``model(batch, training=True)``; pass a ``tf.function`` of it to
    reuse one trace across calls (it is traced while the momenta are 0, as it must be).
    Returns the number of batches used (0: nothing to do, the statistics are untouched).
    """
    forward = forward or (lambda batch: model(batch, training=True))
    layers = batch_norm_layers(model)
    if not layers:
        return 0
    stats = [v for layer in layers for v in (layer.moving_mean, layer.moving_variance)]
    momenta = [layer.momentum for layer in layers]
    totals, count = [np.zeros(v.shape, np.float64) for v in stats], 0
    try:
        for layer in layers:
            layer.momentum = 0.0  # a training-mode call then stores this batch's statistics
        for batch in images:
            forward(batch)
            for total, variable in zip(totals, stats):
                total += keras.ops.convert_to_numpy(variable)
            count += 1
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
    if count:
        for total, variable in zip(totals, stats):
            variable.assign((total / count).astype(variable.dtype))
    return count
