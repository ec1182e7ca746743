"""Shared checks for detector tests: forward pass, one training step, saving, config round trip.

Every detector returns a dict with at least ``"logit"`` (N, 1). The helpers take a built model
and a batch (``random_batch`` makes one from the model's input shapes) and assert the behaviour
every model must have, so each model's test file stays short::

    model = create_model("resnet_lstm_tiny")
    x = random_batch(model, frames=3)
    outputs = check_forward(model, x)
    check_train_step(model, x)
    check_save_reload(model, x, tmp_path)
    check_config_round_trip(model, x)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np


def _fill_shape(shape: tuple, batch: int, frames: int, size: int | None) -> tuple[int, ...]:
    """Replace unknown dimensions: batch first, then time (rank 5), then spatial ones."""
    dims = list(shape)
    dims[0] = batch
    if len(dims) == 5 and dims[1] is None:
        dims[1] = frames
    for i, d in enumerate(dims):
        if d is None:
            if size is None:
                raise ValueError(f"Input shape {shape} has unknown spatial dims; pass size=.")
            dims[i] = size
    return tuple(int(d) for d in dims)


def random_batch(
    model: keras.Model,
    batch: int = 2,
    frames: int = 3,
    size: int | None = None,
    low: float = -2.0,
    high: float = 2.0,
    seed: int = 0,
) -> Any:
    """A float32 batch matching the model's inputs (one array, or a dict keyed by input name).

    Unknown dims become ``batch`` (axis 0), ``frames`` (axis 1 of rank-5 inputs) and ``size``.
    Values are uniform in [low, high] (normalised-face range by default; use 0-255 for models
    that take raw crops).
    """
    rng = np.random.default_rng(seed)
    arrays = {}
    for tensor in model.inputs:
        shape = _fill_shape(tuple(tensor.shape), batch, frames, size)
        arrays[tensor.name] = rng.uniform(low, high, size=shape).astype("float32")
    if len(arrays) == 1:
        return next(iter(arrays.values()))
    return arrays


def _numpy_outputs(outputs: Any) -> dict[str, np.ndarray]:
    assert isinstance(outputs, dict), f"model outputs must be a dict, got {type(outputs)}"
    return {k: keras.ops.convert_to_numpy(v) for k, v in outputs.items()}


def _batch_size(x: Any) -> int:
    first = next(iter(x.values())) if isinstance(x, dict) else x
    return int(first.shape[0])


def check_forward(model: keras.Model, x: Any) -> dict[str, np.ndarray]:
    """Run the model in inference mode; assert a finite (N, 1) ``"logit"``; return numpy outputs."""
    outputs = _numpy_outputs(model(x, training=False))
    n = _batch_size(x)
    assert "logit" in outputs, f"outputs {sorted(outputs)} lack 'logit'"
    assert outputs["logit"].shape == (n, 1), outputs["logit"].shape
    for name, value in outputs.items():
        assert np.all(np.isfinite(value)), f"output {name!r} has non-finite values"
    return outputs


def check_attention(outputs: dict[str, np.ndarray], batch: int, size: int | None = None) -> None:
    """Assert ``outputs["attention"]`` is (N, h, w, 1) with values in [0, 1]."""
    att = outputs["attention"]
    assert att.ndim == 4 and att.shape[0] == batch and att.shape[-1] == 1, att.shape
    if size is not None:
        assert att.shape[1:3] == (size, size), att.shape
    assert att.min() >= 0.0 and att.max() <= 1.0, (att.min(), att.max())


def check_train_step(model: keras.Model, x: Any) -> float:
    """Compile with BCE-with-logits on ``"logit"``, fit one step, assert weights changed.

    The step runs eagerly: tracing a whole EfficientNet's training graph for one step takes
    five times as long as running it (graph-mode training of every tiny model is the trainer's
    tests' job: tests/training). Returns the loss of that step.
    """
    n = _batch_size(x)
    y = np.asarray([[i % 2] for i in range(n)], dtype="float32")
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss={"logit": keras.losses.BinaryCrossentropy(from_logits=True)},
        run_eagerly=True,
    )
    before = [np.array(w) for w in model.trainable_weights]
    assert before, "model has no trainable weights"
    history = model.fit(x, {"logit": y}, batch_size=n, epochs=1, verbose=0, shuffle=False)
    after = [np.array(w) for w in model.trainable_weights]
    changed = sum(not np.array_equal(b, a) for b, a in zip(before, after))
    assert changed > 0, "no trainable weight changed after one training step"
    loss = float(history.history["loss"][-1])
    assert np.isfinite(loss), loss
    return loss


def check_save_reload(
    model: keras.Model, x: Any, tmp_path: Path, atol: float = 1e-5
) -> keras.Model:
    """Save as ``.keras``, reload, assert the same class and allclose outputs; return the copy."""
    path = Path(tmp_path) / f"{model.name}.keras"
    expected = _numpy_outputs(model(x, training=False))
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert type(reloaded) is type(model), (type(reloaded), type(model))
    got = _numpy_outputs(reloaded(x, training=False))
    assert sorted(got) == sorted(expected)
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], atol=atol, err_msg=name)
    return reloaded


def check_config_round_trip(model: keras.Model, x: Any | None = None) -> keras.Model:
    """``from_config(get_config())`` gives the same config and parameter count.

    With ``x``, the copy takes the original's weights and must give allclose outputs (the
    layer structure matches one to one).
    """
    config = model.get_config()
    clone = type(model).from_config(config)
    assert clone.get_config() == config
    assert clone.count_params() == model.count_params()
    if x is not None:
        clone.set_weights(model.get_weights())
        expected = _numpy_outputs(model(x, training=False))
        got = _numpy_outputs(clone(x, training=False))
        for name in expected:
            np.testing.assert_allclose(got[name], expected[name], atol=1e-5, err_msg=name)
    return clone
