"""`tfdeepfake serve`: a web page, a REST API and a job queue over `tfdeepfake.Detector`.

- ``app``: the FastAPI application (``create_app``), page and ``/api/v1`` routes.
- ``store``: jobs in a database through SQLAlchemy (SQLite by default).
- ``uploads``: multipart bodies streamed to disk, types sniffed from content.
- ``workers``: threads scoring queued jobs with one shared Detector; expiry of old jobs.
- ``files``: the fixed layout of a job's folder.
- ``client``: ``submit(url, path)`` for Python callers.

Needs the ``[serve]`` extra (FastAPI, uvicorn, SQLAlchemy, python-multipart).
"""

from tfdeepfake.serve.app import create_app
from tfdeepfake.serve.client import JobError, submit
from tfdeepfake.serve.config import ServeConfig

__all__ = ["JobError", "ServeConfig", "create_app", "submit"]
