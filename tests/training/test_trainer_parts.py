"""Trainer parts that need no training loop: mixed precision build, batches, strategies."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfdeepfake.training import TrainConfig, Trainer, make_strategy
from tfdeepfake.training.strategy import mixed_precision_policy
from tfdeepfake.training.trainer import binary_metrics, unpack_batch


def _config(tmp_path, **values):
    return TrainConfig.from_dict(
        {"model": {"name": "autoatt_b4_tiny"}, "out": str(tmp_path), "progress": False, **values}
    )


def _no_data(ctx, seed):
    raise AssertionError("not read")


def test_mixed_precision_builds_bfloat16_model_on_cpu_and_restores_policy(tmp_path):
    assert mixed_precision_policy(True, gpu=False) == "mixed_bfloat16"
    assert mixed_precision_policy(False, gpu=False) == "float32"
    trainer = Trainer(_config(tmp_path, mixed_precision=True), _no_data)
    trainer._build()
    conv = next(la for la in trainer.model.layers if isinstance(la, keras.layers.Conv2D))
    assert conv.compute_dtype == "bfloat16" and conv.variable_dtype == "float32"
    assert keras.mixed_precision.global_policy().name == "float32"  # left as found
    assert not trainer.loss_scaling  # loss scaling only for float16


def test_mask_loss_is_added_only_with_a_weight(tmp_path):
    trainer = Trainer(_config(tmp_path, loss={"mask_weight": 0.5}), _no_data)
    trainer._build()
    images = tf.random.normal((2, 32, 32, 3))
    labels = tf.constant([[1.0], [0.0]])
    masks = tf.concat([tf.ones((1, 32, 32, 1)), tf.zeros((1, 32, 32, 1))], 0)
    outputs = trainer.model(images, training=False)
    with_mask = float(trainer.compute_loss(outputs, labels, masks))
    without = float(trainer.compute_loss(outputs, labels, None))
    from tfdeepfake.training import losses

    aux = float(losses.attention_mask_loss(outputs["attention"], masks, tf.constant([1.0, 0.0])))
    assert with_mask == pytest.approx(without + 0.5 * aux, rel=1e-5)


def test_batches_and_metrics():
    x, y, m = tf.zeros((2, 4)), tf.ones((2, 1)), tf.zeros((2, 4, 4, 1))
    assert unpack_batch((x, y))[2] is None
    assert unpack_batch((x, y, m))[2] is m
    assert unpack_batch({"images": x, "labels": y})[1] is y
    with pytest.raises(ValueError, match="must be \\(images, labels\\)"):
        unpack_batch([x])
    metrics = binary_metrics(np.array([0, 1, 1]), np.array([-2.0, 3.0, 1.0]))
    assert metrics["auc"] == 1.0 and metrics["accuracy"] == 1.0


def test_strategy_factory(monkeypatch):
    assert make_strategy("default") is tf.distribute.get_strategy()
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="needs TF_CONFIG"):
        make_strategy("multi_worker")
    with pytest.raises(ValueError, match="choose default, mirrored, multi_worker or tpu"):
        make_strategy("horovod")


def test_triplet_loss_uses_the_features_output(tmp_path):
    trainer = Trainer(_config(tmp_path, loss={"name": "triplet", "triplet_margin": 1.0}), _no_data)
    trainer._build()
    outputs = trainer.model(tf.random.normal((6, 32, 32, 3)), training=False)
    labels = tf.constant([[1.0], [1.0], [0.0], [0.0], [0.0], [1.0]])  # two triplets
    from tfdeepfake.training import losses

    expected = float(losses.stacked_triplet_loss(outputs["features"], 1.0))
    assert float(trainer.compute_loss(outputs, labels, None)) == pytest.approx(expected)
    assert expected > 0


def test_backend_mismatches_name_the_fix(tmp_path):
    from tfdeepfake import runs
    from tfdeepfake.training import train

    with pytest.raises(ValueError, match="TensorFlow strategy.*--backend tensorflow"):
        _config(tmp_path, backend="jax", strategy="multi_worker").validate(require_data=False)
    with pytest.raises(ValueError, match="backend must be one of tensorflow, jax"):
        _config(tmp_path, backend="torch").validate(require_data=False)
    jax_config = _config(tmp_path / "j", backend="jax")
    with pytest.raises(ValueError, match=r"call tfdeepfake.training.train\(config\)"):
        Trainer(jax_config, _no_data)
    # This process runs Keras on TensorFlow: the JAX trainer says how to get JAX.
    with pytest.raises(ValueError, match="tfdeepfake train --backend jax"):
        train(jax_config, _no_data)
    # A run folder trained on one backend resumes only on that backend.
    runs.write_config(str(tmp_path / "t"), _config(tmp_path / "t", backend="jax").to_dict())
    with pytest.raises(ValueError, match="trained with --backend jax"):
        Trainer(_config(tmp_path / "t"), _no_data)
