"""Fixtures of the server tests: one shared Detector over the tiny runs, and real
`tfdeepfake serve` processes on 127.0.0.1 (see ``serve_helpers``)."""

import pytest
from serve_helpers import Server


@pytest.fixture(scope="session")
def serve_detector(tiny_runs):
    """The Detector the in-process apps share (models load once for all API tests)."""
    from tfdeepfake.serve.app import load_detector
    from tfdeepfake.serve.config import ServeConfig

    return load_detector(ServeConfig(weights=tiny_runs, frames=2))


@pytest.fixture
def start_server():
    """``start_server(args, data_dir) -> Server``; every server is stopped after the test."""
    servers = []

    def start(args, data_dir):
        servers.append(Server([str(a) for a in args], data_dir))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()
