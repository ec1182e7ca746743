"""Fixtures of the faces tests: one MTCNN detector for the session."""

import pytest


@pytest.fixture(scope="session")
def mtcnn():
    """The shared ``MTCNNFaceFinder`` (building one takes seconds)."""
    from tfdeepfake.faces import default_face_finder

    return default_face_finder()
