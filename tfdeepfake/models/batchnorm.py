"""Setting BatchNorm population statistics from training-mode passes with the weights frozen.

A BatchNormalization layer normalises with the batch's statistics in training and with its
moving averages at inference. Two callers need those averages recomputed with the current
weights:

- the trainer ("precise BN", ``TrainConfig.bn_refresh_batches``): the moving averages follow
  the batches with momentum 0.99, so they describe the network of the last ~100 steps. In a
  short run with a fast optimiser (the quickstart's 300 Adam steps at 1e-3) the weights move
  faster than that: the stale statistics squash every input into the same narrow band of
  outputs at inference, although the same network separates its own training batches in
  training mode (measured in docs/training.md). The plain mean over a few training batches
  removes the lag (Wu & Johnson, "Rethinking 'Batch' in BatchNorm", 2021, section 3).
- export's parity check of a randomly initialised model (``export.parity``): with the initial
  statistics (0, 1) activations fade through a deep EfficientNet and every face gets nearly
  the same logit. There each batch counts by its number of faces, so the result does not
  depend on how the faces were split into batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import keras
import numpy as np

from tfdeepfake.models.base import sublayers


def batch_norm_layers(model: keras.Model) -> list[keras.layers.BatchNormalization]:
    """Every BatchNormalization layer of ``model``, nested ones included."""
    return [
        layer for layer in sublayers(model)
        if isinstance(layer, keras.layers.BatchNormalization)
    ]


def refresh_batch_norm(
    model: keras.Model,
    batches: Iterable[Any],
    forward: Callable[[Any], Any] | None = None,
    per_sample: bool = False,
) -> int:
    """Set every BatchNorm layer's moving mean and variance to the mean of its batch
    statistics over ``batches`` (inputs the model takes), with the weights unchanged.

    ``per_sample=False``: every batch counts the same; ``True``: a batch counts by its
    length (``len(batch)``), so the result is the mean over samples whatever the batch sizes.
    ``forward(batch)`` runs ``model(batch, training=True)`` (the default); pass a
    ``tf.function`` of it to reuse one trace across calls (it is traced while the momenta are
    0, as it must be), or one that turns a batch into the model's input first.
    Returns the number of batches used (0: nothing to do, the statistics are untouched).
    """
    forward = forward or (lambda batch: model(batch, training=True))
    layers = batch_norm_layers(model)
    if not layers:
        return 0
    stats = [v for layer in layers for v in (layer.moving_mean, layer.moving_variance)]
    momenta = [layer.momentum for layer in layers]
    totals = [np.zeros(v.shape, np.float64) for v in stats]
    count, weight_sum = 0, 0.0
    try:
        for layer in layers:
            layer.momentum = 0.0  # a training-mode call then stores this batch's statistics
        for batch in batches:
            weight = float(len(batch)) if per_sample else 1.0
            forward(batch)
            for total, variable in zip(totals, stats):
                total += weight * keras.ops.convert_to_numpy(variable)
            count, weight_sum = count + 1, weight_sum + weight
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
    if count:
        for total, variable in zip(totals, stats):
            variable.assign((total / weight_sum).astype(variable.dtype))
    return count
