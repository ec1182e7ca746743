"""Where a job's files live: ``<data_dir>/jobs/<id>/`` holds the upload under a fixed name
(``input.<sniffed suffix>``), ``report/`` (chart, heatmap videos), ``result.json`` (detect's
schema) and ``result.csv``. No client-supplied name is ever part of a path."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

JOB_ID = re.compile(r"^[0-9a-f]{32}$")


class JobFiles:
    """The folder of one job (``job_id`` must be a store id: 32 hex digits)."""

    def __init__(self, jobs_dir: Path, job_id: str):
        if not JOB_ID.match(job_id):
            raise ValueError(f"not a job id: {job_id!r}")
        self.folder = Path(jobs_dir) / job_id

    @property
    def partial(self) -> Path:
        return self.folder / "upload.part"

    def input(self, suffix: str) -> Path:
        return self.folder / f"input{suffix}"

    def find_input(self) -> Path | None:
        found = sorted(self.folder.glob("input.*"))
        return found[0] if found else None

    @property
    def report(self) -> Path:
        return self.folder / "report"

    @property
    def json(self) -> Path:
        return self.folder / "result.json"

    @property
    def csv(self) -> Path:
        return self.folder / "result.csv"

    def public_file(self, relative: str) -> Path | None:
        """A report file by its path relative to the folder, or None (anything outside
        ``report/``, missing, or reached through ``..`` or a link is refused)."""
        root = self.report.resolve()
        try:
            path = (self.folder / relative).resolve()
        except (OSError, ValueError):
            return None
        return path if path.is_relative_to(root) and path.is_file() else None

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
