"""A Python client of a running server: upload a file, wait for its verdict."""

from __future__ import annotations

import os
import time


class JobError(RuntimeError):
    """The server refused the upload or could not be reached (the message says which: the
    server's own reason with the HTTP status, or the connection error)."""


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
    try:
        with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=60.0) as client, \
                open(path, "rb") as handle:
            response = client.post("/api/v1/jobs",
                                   files={"file": (os.path.basename(os.fspath(path)), handle)})
            if response.status_code != 201:
                raise JobError(f"{os.fspath(path)}: {_refusal(response)}")
            job = response.json()
            deadline = time.monotonic() + timeout
            while wait and job["status"] not in ("done", "failed"):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"job {job['id']} still {job['status']} after {timeout} s")
                time.sleep(poll)
                response = client.get(f"/api/v1/jobs/{job['id']}")
                if response.status_code != 200:
                    raise JobError(f"job {job['id']}: {_refusal(response)}")
                job = response.json()
            return job
    except httpx.TransportError as err:
        raise JobError(
            f"cannot reach the server at {url} ({type(err).__name__}: {err}); start it with "
            "`tfdeepfake serve` or check the address and port"
        ) from None


def _refusal(response) -> str:
    """``HTTP <status>: <the server's reason>`` (its text when the body is not JSON)."""
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text[:200]
    return f"HTTP {response.status_code}: {detail}"
