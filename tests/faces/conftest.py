"""Fixtures of the faces tests: one MTCNN detector for the session."""

import pytest


@pytest.fixture(scope="session")
def mtcnn():
    """The shared ``MTCNNDetector`` (building one takes seconds)."""
    from tfdeepfake.faces import default_detector

    return default_detector()
