"""Run folders of the three tiny detectors with weights made in the test (random init,
saved the way `tfdeepfake train` saves them), and a detector over them."""

import os

import pytest

TINY = ("resnet_lstm_tiny", "autoatt_b4_tiny", "b7_ssim_tiny")


def _make_run(run_dir: str, name: str) -> str:
    """A run folder for preset ``name`` whose 'best' weights are random (made here)."""
    from tfdeepfake import create_model
    from tfdeepfake.training.checkpoints import BEST_WEIGHTS
    from tfdeepfake.training.config import TrainConfig
    from tfdeepfake.training.run import CONFIG_FILE, save_preset

    os.makedirs(run_dir, exist_ok=True)
    model = create_model(name)
    save_preset(model.preset, run_dir)
    TrainConfig(out=run_dir).save(os.path.join(run_dir, CONFIG_FILE))
    model.save_weights(os.path.join(run_dir, BEST_WEIGHTS))
    return run_dir


@pytest.fixture(scope="session")
def tiny_models():
    """The tiny presets, in the order `detect` reports them (sorted run-folder names)."""
    return tuple(sorted(TINY))


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory):
    """A folder holding one run folder per tiny preset."""
    root = tmp_path_factory.mktemp("runs")
    for name in TINY:
        _make_run(str(root / name), name)
    return str(root)


@pytest.fixture(scope="session")
def detector(tiny_runs):
    from tfdeepfake.inference import Detector

    return Detector(weights=tiny_runs, frames=4)


@pytest.fixture
def make_run():
    """``make_run(run_dir, preset_name)``: a run folder with random 'best' weights."""
    return _make_run
