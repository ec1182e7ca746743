"""Parity of the DFDC winner's B7 and of the ResNeXt-LSTM compatibility mode.

B7: an independent PyTorch rebuild of timm's tf_efficientnet_b7_ns layout (timm needs
torchvision, a 5.5 GB install) at full B7 width/depth, compared at 128 px (380 px B7 is too
heavy for the CPU test step; the padding is TF-"same" for the actual size at every size).
ResNeXt-LSTM: a rebuild of the reference Model (torchvision resnext50_32x4d trunk, LSTM
without bias and not batch_first, 2-class head, BGR input) at its 112 px.
"""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="parity tests need the [torch] extra")

from tfdeepfake.models import preprocessor_for  # noqa: E402
from tfdeepfake.models.presets import IMAGENET_MEAN, IMAGENET_STD  # noqa: E402
from tfdeepfake.weights import MappingError, import_checkpoint  # noqa: E402
from tfdeepfake.weights.compat import compat_frame_logits  # noqa: E402
from tfdeepfake.weights.torch_references import DeepFakeClassifier, ResNeXtLSTM, randomise  # noqa: E402

pytestmark = pytest.mark.torch
TOLERANCE = 1e-4
B7_SIZE = 128


def test_dfdc_winner_b7_parity(tmp_path):
    rng = np.random.default_rng(0)
    calibration = rng.normal(size=(2, 3, B7_SIZE, B7_SIZE)).astype("float32")
    ref = randomise(DeepFakeClassifier(), torch.from_numpy(calibration))
    # The published files are training checkpoints with DataParallel's prefix.
    state = {f"module.{k}": v for k, v in ref.state_dict().items()}
    torch.save({"epoch": 36, "state_dict": state, "bce_best": 0.2}, tmp_path / "final_111")
    result = import_checkpoint(
        "dfdc-winner-b7", tmp_path / "final_111", tmp_path / "b7", input_size=B7_SIZE
    )
    assert set(result.summary.ignored) >= {"encoder.classifier.weight", "encoder.classifier.bias"}
    # Compared on the calibration faces: at 128 px B7's last maps are 4x4, and statistics of
    # so few values do not carry over to other inputs through its ~160 batch norms.
    x = np.ascontiguousarray(calibration.transpose(0, 2, 3, 1))
    with torch.no_grad():
        want = ref(torch.from_numpy(x.transpose(0, 3, 1, 2))).numpy()
    got = np.asarray(result.model(x, training=False)["logit"])
    diff = float(np.abs(got - want).max())
    print(f"dfdc-winner-b7 at {B7_SIZE} px: max |logit diff| = {diff:.2e}, logits {want.ravel()}")
    assert np.ptp(want) > 1e-3
    assert diff < TOLERANCE


def _bgr_reference_input(rgb: np.ndarray) -> torch.Tensor:
    """What the reference feeds its model: cv2's BGR frames normalised with RGB statistics."""
    bgr = rgb[..., ::-1].astype("float32") / 255.0
    x = (bgr - np.array(IMAGENET_MEAN, "float32")) / np.array(IMAGENET_STD, "float32")
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 1, 4, 2, 3)))


def test_resnext_lstm_compat_parity(tmp_path):
    rng = np.random.default_rng(1)
    frames = 3
    calibration = rng.integers(0, 256, size=(1, 4, 112, 112, 3)).astype("uint8")
    ref = randomise(ResNeXtLSTM(), _bgr_reference_input(calibration))
    torch.save(ref.state_dict(), tmp_path / "model_84_acc_10_frames_final_data.pt")
    result = import_checkpoint(
        "resnext-lstm", tmp_path / "model_84_acc_10_frames_final_data.pt", tmp_path / "lstm"
    )
    provenance = json.loads((tmp_path / "lstm" / "source.json").read_text())
    assert provenance["compatibility"] == "independent_frames"
    rgb = rng.integers(0, 256, size=(1, frames, 112, 112, 3)).astype("uint8")
    with torch.no_grad():  # the reference's output for the first t frames is frame t's logit
        two_class = [ref(_bgr_reference_input(rgb[:, : t + 1])).numpy() for t in range(frames)]
    want = np.array([[z[0, 0] - z[0, 1] for z in two_class]])  # class 0 = fake
    clips = preprocessor_for(result.preset)(rgb.astype("float32"))
    got = np.asarray(compat_frame_logits(result.model, clips))
    diff = float(np.abs(got - want).max())
    print(f"resnext-lstm (compat): max |logit diff| = {diff:.2e}, logits {want.ravel()}")
    assert np.ptp(want) > 1e-3
    assert diff < TOLERANCE
    # Running the LSTM over time (what tfdeepfake trains) is a different computation.
    over_time = np.asarray(result.model(clips, training=False)["frame_logits"])[..., 0]
    assert np.abs(over_time[:, 1:] - want[:, 1:]).max() > 100 * TOLERANCE


def test_lstm_checkpoint_with_bias_is_refused(tmp_path):
    """A checkpoint whose LSTM has biases is not the published model: tell, don't drop them."""
    state = {
        "model.0.weight": torch.zeros(64, 3, 7, 7),
        "lstm.bias_ih_l0": torch.zeros(8192),
    }
    torch.save(state, tmp_path / "other.pt")
    with pytest.raises(MappingError) as err:
        import_checkpoint(
            "resnext-lstm", tmp_path / "other.pt", tmp_path / "out", preset="resnet_lstm_tiny"
        )
    assert "lstm.bias_ih_l0" in str(err.value) and "not used" in str(err.value)
