"""The references' checkpoint containers, written in exactly their shapes, read weights-only.

- icpr2020dfdc's training snapshot (``train_binclass.py``, the README's ``bestval.pth``):
  ``{"net", "opt", "train_loss", "val_loss", "iteration", "batch_size", "epoch"}``.
- The DFDC winner's release files: ``{"epoch", "state_dict" (``module.`` prefix),
  "bce_best"}`` with ``bce_best`` a numpy float64, saved in 2020 by torch < 1.6 (the legacy,
  non-zip format) under numpy 1 (which names ``numpy.core.multiarray.scalar``).
"""

import collections

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="reading .pth files needs the [torch] extra")

from tfdeepfake.weights.checkpoint import CheckpointError, read_state_dict  # noqa: E402

pytestmark = pytest.mark.torch


def _tiny_net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))


def test_icpr_training_snapshot_imports(tmp_path):
    net = _tiny_net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-5)
    net(torch.randn(2, 3, 8, 8)).sum().backward()
    opt.step()  # a real optimizer state: per-parameter exp_avg tensors, step counters
    snapshot = {
        "net": net.state_dict(),
        "opt": opt.state_dict(),
        "train_loss": 0.31,
        "val_loss": np.float64(0.28),
        "iteration": 500,
        "batch_size": 32,
        "epoch": 1,
    }
    torch.save(snapshot, tmp_path / "bestval.pth")
    state = read_state_dict(tmp_path / "bestval.pth")
    assert set(state) == set(net.state_dict())
    np.testing.assert_array_equal(state["0.weight"], net.state_dict()["0.weight"].numpy())


def _numpy1_legacy_save(obj, path):
    """``torch.save`` as the winner's 2020 files were written: legacy format, numpy 1 names."""
    torch.save(obj, path, _use_new_zipfile_serialization=False)
    raw = path.read_bytes()
    assert raw.count(b"numpy._core.multiarray") == 1  # protocol 2 GLOBAL opcode, text
    path.write_bytes(raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))


@pytest.mark.parametrize("writer", ["numpy1_legacy", "current"])
def test_dfdc_winner_checkpoint_with_numpy_float64_imports(tmp_path, writer):
    net = _tiny_net()
    state = collections.OrderedDict((f"module.{k}", v) for k, v in net.state_dict().items())
    checkpoint = {"epoch": 36, "state_dict": state, "bce_best": np.float64(0.1935)}
    path = tmp_path / "final_111_DeepFakeClassifier_tf_efficientnet_b7_ns_0_36"
    if writer == "numpy1_legacy":
        _numpy1_legacy_save(checkpoint, path)
    else:
        torch.save(checkpoint, path)
    with pytest.raises(Exception, match="Weights only load failed"):
        torch.load(path, weights_only=True)  # what the plain call does with these files
    arrays = read_state_dict(path)
    assert set(arrays) == {k.removeprefix("module.") for k in state}
    np.testing.assert_array_equal(arrays["1.running_var"], net.state_dict()["1.running_var"])


class NotAllowed:
    """A pickled class: reading it would execute code the checkpoint names."""


def test_other_pickled_objects_are_still_refused(tmp_path):
    torch.save({"state_dict": _tiny_net().state_dict(), "extra": NotAllowed()}, tmp_path / "x")
    with pytest.raises(CheckpointError, match="refuses to execute"):
        read_state_dict(tmp_path / "x")
