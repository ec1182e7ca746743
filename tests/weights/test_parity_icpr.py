"""Parity of the icpr2020dfdc EfficientNetB4 family: PyTorch reference vs imported Keras model.

The reference is built with efficientnet-pytorch (the package icpr2020dfdc used) at full B4
size, given random weights and batch-norm statistics, saved in the reference's exact key
layout, imported with ``import_checkpoint`` and compared at 224 px in eval mode.
"""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="parity tests need the [torch] extra")
pytest.importorskip("efficientnet_pytorch", reason="parity tests need the [torch] extra")

from torch_references import IcprEfficientNet, IcprSiamese, randomise  # noqa: E402

from tfdeepfake.weights import MappingError, import_checkpoint  # noqa: E402

pytestmark = pytest.mark.torch
TOLERANCE = 1e-4
SIZE = 224


def _inputs(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(2, SIZE, SIZE, 3)).astype("float32")


def _reference(source: str):
    attention = "AutoAtt" in source
    ref = IcprSiamese(attention) if source.endswith("ST") else IcprEfficientNet(attention)
    return randomise(ref, torch.from_numpy(_inputs(99).transpose(0, 3, 1, 2)))


def _torch_outputs(ref, x: np.ndarray):
    with torch.no_grad():
        xt = torch.from_numpy(x.transpose(0, 3, 1, 2))
        logit = ref(xt).numpy()
        att = ref.attention(xt)
    return logit, None if att is None else att.numpy().transpose(0, 2, 3, 1)


@pytest.fixture(scope="module")
def autoatt_checkpoint(tmp_path_factory):
    ref = _reference("EfficientNetAutoAttB4")
    path = tmp_path_factory.mktemp("ckpt") / "EfficientNetAutoAttB4_DFDC_bestval-test.pth"
    torch.save(ref.state_dict(), path)
    return ref, path


@pytest.mark.parametrize(
    "source", ["EfficientNetB4", "EfficientNetB4ST", "EfficientNetAutoAttB4ST"]
)
def test_icpr_parity(source, tmp_path, record_property):
    ref = _reference(source)
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
    assert preset.config["padding"] == "reference"
    x = _inputs(2)
    want_logit, want_att = _torch_outputs(ref, x)
    got = model(x, training=False)
    logit_diff = float(np.abs(np.asarray(got["logit"]) - want_logit).max())
    att_diff = float(np.abs(np.asarray(got["attention"]) - want_att).max())
    print(
        f"EfficientNetAutoAttB4: max |logit diff| = {logit_diff:.2e}, "
        f"max |attention diff| = {att_diff:.2e}"
    )
    assert np.ptp(want_logit) > 1e-3 and np.ptp(want_att) > 1e-3
    assert logit_diff < TOLERANCE and att_diff < TOLERANCE
    provenance = json.loads((out / "source.json").read_text())
    assert provenance["checkpoint_sha256"] == result.checkpoint_sha256
    assert "GPL" in provenance["licence"]


def test_without_reference_padding_the_comparison_fails(autoatt_checkpoint, tmp_path):
    """Keras' own "same" padding differs in block3a at 224 px: parity needs the override."""
    ref, path = autoatt_checkpoint
    result = import_checkpoint(
        "EfficientNetAutoAttB4", path, tmp_path / "keras_pad", padding="keras"
    )
    x = _inputs(3)
    want_logit, want_att = _torch_outputs(ref, x)
    got = result.model(x, training=False)
    logit_diff = float(np.abs(np.asarray(got["logit"]) - want_logit).max())
    att_diff = float(np.abs(np.asarray(got["attention"]) - want_att).max())
    print(f"padding='keras': max |logit diff| = {logit_diff:.2e}, attention {att_diff:.2e}")
    assert logit_diff > 100 * TOLERANCE
    assert att_diff > 100 * TOLERANCE


def test_wrong_source_is_refused_with_the_unmatched_keys(autoatt_checkpoint, tmp_path):
    _, path = autoatt_checkpoint
    with pytest.raises(MappingError) as err:
        import_checkpoint("EfficientNetB4", path, tmp_path / "wrong")
    message = str(err.value)
    assert "efficientnet.attconv.weight" in message and "not used" in message
    assert not (tmp_path / "wrong").exists()
