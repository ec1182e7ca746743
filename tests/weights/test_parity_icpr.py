"""Parity of the icpr2020dfdc EfficientNetB4 family: PyTorch reference vs imported Keras model.

The reference is built with efficientnet-pytorch at full B4 size, given random weights and
batch-norm statistics, saved in the reference's exact key layout, imported with
``import_checkpoint`` and compared at 224 px in eval mode. Two versions of the package build
two different networks from the same weights (their issue #262):

- 0.6.3, which trained the published weights (April-May 2020): the default import;
- 0.7.1, what the repository's notebooks build on a new install: ``padding="pytorch_0.7"``.
"""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="parity tests need the [torch] extra")
pytest.importorskip("efficientnet_pytorch", reason="parity tests need the [torch] extra")

import efficientnet_pytorch  # noqa: E402

from tfdeepfake.weights import MappingError, import_checkpoint  # noqa: E402
from tfdeepfake.weights.torch_references import (  # noqa: E402
    IcprEfficientNet,
    IcprSiamese,
    efficientnet_pytorch_063,
    randomise,
)

pytestmark = pytest.mark.torch
TOLERANCE = 1e-4
SIZE = 224


def _inputs(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(2, SIZE, SIZE, 3)).astype("float32")


@pytest.fixture(scope="module")
def v063():
    return efficientnet_pytorch_063()


def _reference(source: str, package):
    attention = "AutoAtt" in source
    cls = IcprSiamese if source.endswith("ST") else IcprEfficientNet
    ref = cls(attention, package=package)
    return randomise(ref, torch.from_numpy(_inputs(99).transpose(0, 3, 1, 2)))


def _torch_outputs(ref, x: np.ndarray):
    with torch.no_grad():
        xt = torch.from_numpy(x.transpose(0, 3, 1, 2))
        logit = ref(xt).numpy()
        att = ref.attention(xt)
    return logit, None if att is None else att.numpy().transpose(0, 2, 3, 1)


@pytest.fixture(scope="module")
def autoatt_checkpoint(tmp_path_factory, v063):
    """A 0.6.3-built AutoAttB4 (as the published ones were) and its bare state dict file."""
    ref = _reference("EfficientNetAutoAttB4", v063)
    path = tmp_path_factory.mktemp("ckpt") / "EfficientNetAutoAttB4_DFDC_bestval-test.pth"
    torch.save(ref.state_dict(), path)
    return ref, path


@pytest.fixture(scope="module")
def autoatt_checkpoint_071(tmp_path_factory):
    ref = _reference("EfficientNetAutoAttB4", efficientnet_pytorch)
    path = tmp_path_factory.mktemp("ckpt071") / "EfficientNetAutoAttB4_DFDC_bestval-test.pth"
    torch.save(ref.state_dict(), path)
    return ref, path


def _diffs(ref, model, seed):
    x = _inputs(seed)
    want_logit, want_att = _torch_outputs(ref, x)
    got = model(x, training=False)
    logit_diff = float(np.abs(np.asarray(got["logit"]) - want_logit).max())
    att_diff = float(np.abs(np.asarray(got["attention"]) - want_att).max())
    assert np.ptp(want_logit) > 1e-3 and np.ptp(want_att) > 1e-3
    return logit_diff, att_diff


@pytest.mark.parametrize(
    "source", ["EfficientNetB4", "EfficientNetB4ST", "EfficientNetAutoAttB4ST"]
)
def test_icpr_parity(source, tmp_path, record_property, v063):
    ref = _reference(source, v063)
    torch.save(ref.state_dict(), tmp_path / "ref.pth")
    result = import_checkpoint(source, tmp_path / "ref.pth", tmp_path / "out")
    x = _inputs(1)
    want, _ = _torch_outputs(ref, x)
    got = np.asarray(result.model(x, training=False)["logit"])
    diff = float(np.abs(got - want).max())
    record_property("max_abs_logit_diff", diff)
    print(f"{source}: max |logit diff| = {diff:.2e}, logits {want.ravel()}")
    assert np.ptp(want) > 1e-3, "reference logits do not depend on the input: weak test"
    assert diff < TOLERANCE


def test_autoatt_parity_logits_and_attention_through_the_run_folder(autoatt_checkpoint, tmp_path):
    from tfdeepfake.training.run import load_run

    ref, path = autoatt_checkpoint
    out = tmp_path / "autoatt"
    result = import_checkpoint("EfficientNetAutoAttB4", path, out)
    assert result.summary.tensors_used == len(ref.state_dict()) - result.summary.ignored.__len__()
    assert all("num_batches_tracked" in key for key in result.summary.ignored)
    # Rebuild from the folder exactly as detect/export do (preset.json + best.weights.h5).
    model, preset, _ = load_run(str(out))
    assert preset.config["padding"] == "pytorch_0.6"
    logit_diff, att_diff = _diffs(ref, model, 2)
    print(
        f"EfficientNetAutoAttB4 (0.6.3, default import): max |logit diff| = {logit_diff:.2e}, "
        f"max |attention diff| = {att_diff:.2e}"
    )
    assert logit_diff < TOLERANCE and att_diff < TOLERANCE
    provenance = json.loads((out / "source.json").read_text())
    assert provenance["checkpoint_sha256"] == result.checkpoint_sha256
    assert "GPL" in provenance["licence"]


def test_pytorch_0_7_option_matches_a_0_7_1_reference(autoatt_checkpoint_071, tmp_path):
    ref, path = autoatt_checkpoint_071
    result = import_checkpoint(
        "EfficientNetAutoAttB4", path, tmp_path / "p07", padding="pytorch_0.7"
    )
    logit_diff, att_diff = _diffs(ref, result.model, 2)
    print(f"EfficientNetAutoAttB4 (0.7.1, padding='pytorch_0.7'): logit {logit_diff:.2e}, "
          f"attention {att_diff:.2e}")
    assert logit_diff < TOLERANCE and att_diff < TOLERANCE


def test_the_two_versions_are_different_networks(
    autoatt_checkpoint, autoatt_checkpoint_071, tmp_path
):
    """Each padding matches only its own version: importing with the other one fails."""
    for (ref, path), padding, version in (
        (autoatt_checkpoint, "pytorch_0.7", "0.6.3"),
        (autoatt_checkpoint_071, "pytorch_0.6", "0.7.1"),
    ):
        result = import_checkpoint(
            "EfficientNetAutoAttB4", path, tmp_path / padding, padding=padding
        )
        logit_diff, att_diff = _diffs(ref, result.model, 3)
        print(f"{version} weights, padding={padding!r}: logit {logit_diff:.2e}, "
              f"attention {att_diff:.2e}")
        assert logit_diff > 100 * TOLERANCE and att_diff > 100 * TOLERANCE


def test_wrong_source_is_refused_with_the_unmatched_keys(autoatt_checkpoint, tmp_path):
    _, path = autoatt_checkpoint
    with pytest.raises(MappingError) as err:
        import_checkpoint("EfficientNetB4", path, tmp_path / "wrong")
    message = str(err.value)
    assert "efficientnet.attconv.weight" in message and "not used" in message
    assert not (tmp_path / "wrong").exists()
