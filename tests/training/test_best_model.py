"""Which validation makes ``best.weights.h5``: the better metric, and on an AUC tie the lower
log loss (a handful of validation clips saturate AUC at 1.0 early), also after a resume."""

import json
import math
import types

import tensorflow as tf

from tfdeepfake.training.trainer import Trainer


def _trainer(tmp_path, best_metric="auc"):
    config = types.SimpleNamespace(
        out=str(tmp_path), checkpoint=types.SimpleNamespace(best_metric=best_metric)
    )
    trainer = types.SimpleNamespace(config=config, best=tf.Variable(float("nan")))
    trainer._restore_best_log_loss = types.MethodType(Trainer._restore_best_log_loss, trainer)
    trainer._restore_best_log_loss()
    return trainer


def _validate(trainer, auc, log_loss):
    """Trainer._validation's bookkeeping: True when this validation becomes the best."""
    metrics = {"auc": auc, "log_loss": log_loss}
    if not Trainer._improved(trainer, metrics):
        return False
    trainer.best.assign(metrics[trainer.config.checkpoint.best_metric])
    trainer._best_log_loss = log_loss
    return True


def test_an_auc_tie_goes_to_the_lower_log_loss(tmp_path):
    trainer = _trainer(tmp_path)
    history = [(5 / 6, 0.69), (5 / 6, 0.70), (1.0, 0.60), (1.0, 0.40), (1.0, 0.50), (0.9, 0.10),
               (1.0, 0.40)]  # fmt: skip
    chosen = [_validate(trainer, auc, loss) for auc, loss in history]
    # 5/6 is stored as float32 by the checkpointed best: its tie is still a tie
    assert chosen == [True, False, True, True, False, False, False]
    assert trainer._best_log_loss == 0.40
    assert not _validate(trainer, float("nan"), 0.01)


def test_log_loss_as_the_metric_ignores_auc(tmp_path):
    trainer = _trainer(tmp_path, "log_loss")
    chosen = [_validate(trainer, auc, loss) for auc, loss in [(1.0, 0.5), (0.5, 0.4), (1.0, 0.4)]]
    assert chosen == [True, True, False]


def test_the_tie_break_survives_a_resume(tmp_path):
    (tmp_path / "best.json").write_text(json.dumps({"auc": 1.0, "log_loss": 0.3}))
    fresh = _trainer(tmp_path)
    assert fresh._best_log_loss == math.inf  # no best restored: best.json is not trusted
    resumed = _trainer(tmp_path)
    resumed.best.assign(1.0)  # what the checkpoint restores
    resumed._restore_best_log_loss()
    assert resumed._best_log_loss == 0.3
    assert not _validate(resumed, 1.0, 0.35) and _validate(resumed, 1.0, 0.25)
