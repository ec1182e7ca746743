"""A detector over the tiny run folders of the root conftest (``tiny_runs``)."""

import pytest


@pytest.fixture(scope="session")
def detector(tiny_runs):
    from tfdeepfake.inference import Detector

    return Detector(weights=tiny_runs, frames=4)
