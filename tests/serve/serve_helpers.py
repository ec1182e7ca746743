"""Helpers of the server tests: polling, and real `tfdeepfake serve` child processes."""

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

RUN_CLI = "import sys; from tfdeepfake.cli import main; sys.exit(main())"


def wait_for(predicate, timeout: float, what: str, every: float = 0.2):
    """Poll ``predicate`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def wait_finished(client, job_id: str, timeout: float = 120.0) -> dict:
    def finished():
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        return job if job["status"] in ("done", "failed") else None

    return wait_for(finished, timeout, f"job {job_id} to finish")


class Server:
    """A `tfdeepfake serve` child process on a free loopback port."""

    def __init__(self, args: list[str], data_dir):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.log = open(os.path.join(data_dir, f"server-{self.port}.log"), "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-c", RUN_CLI, "serve", "--port", str(self.port),
             "--data-dir", str(data_dir), *args],
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(self._up, 120, f"the server on port {self.port} (log: {self.log.name})", 0.5)

    def _up(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail(f"the server exited with {self.process.returncode}: "
                        f"{open(self.log.name).read()[-3000:]}")
        try:
            return httpx.get(f"{self.url}/api/v1/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        """kill -9: no clean-up code of the server runs."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()
