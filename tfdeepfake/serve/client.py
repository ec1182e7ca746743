"""A Python client of a running server: upload a file, wait for its verdict."""

from __future__ import annotations

import os
import time


class JobError(RuntimeError):
    """The server refused the upload (the message is the server's, with the HTTP status)."""


def submit(url: str, path: str | os.PathLike, *, token: str | None = None, wait: bool = True,
           timeout: float = 600.0, poll: float = 1.0) -> dict:
    """Upload ``path`` to the server at ``url`` and return the job.

    With ``wait`` the call returns once the job has finished (``job["status"]`` is
    ``"done"`` or ``"failed"``), and ``job["result"]`` holds detect's JSON document.

    Example:
        >>> job = submit("http://127.0.0.1:8000", "clip.mp4")
        >>> job["verdict"], job["result"]["results"][0]["model_scores"]
    """
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=60.0) as client, \
            open(path, "rb") as handle:
        response = client.post("/api/v1/jobs",
                               files={"file": (os.path.basename(os.fspath(path)), handle)})
        if response.status_code != 201:
            raise JobError(f"{os.fspath(path)}: HTTP {response.status_code}: "
                           f"{response.json().get('detail', response.text)}")
        job = response.json()
        deadline = time.monotonic() + timeout
        while wait and job["status"] not in ("done", "failed"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job['id']} still {job['status']} after {timeout} s")
            time.sleep(poll)
            response = client.get(f"/api/v1/jobs/{job['id']}")
            response.raise_for_status()
            job = response.json()
        return job
