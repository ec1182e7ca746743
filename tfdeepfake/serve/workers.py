"""Background scoring: worker threads share one `Detector` (models loaded once), claim
queued jobs from the store, record progress, and write each job's result files."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

from tfdeepfake.inference.outputs import results_document, write_csv
from tfdeepfake.safeio import write_text_atomic
from tfdeepfake.serve.files import JobFiles
from tfdeepfake.serve.store import DONE, FAILED, JobStore

log = logging.getLogger("tfdeepfake.serve")


class WorkerPool:
    """``workers`` threads scoring jobs, plus one thread deleting jobs past ``keep_hours``."""

    def __init__(self, config, store: JobStore, detector):
        self.config, self.store, self.detector = config, store, detector
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for i in range(self.config.workers):
            self._threads.append(threading.Thread(target=self._work, name=f"score-{i}",
                                                  daemon=True))
        if self.config.keep_hours > 0:
            self._threads.append(threading.Thread(target=self._clean, name="cleanup",
                                                  daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Let running jobs finish (up to ``timeout``); queued ones stay queued."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)

    def wake(self) -> None:
        """A job was queued."""
        self._wake.set()

    def _work(self) -> None:
        while not self._stop.is_set():
            job = self.store.claim_next()
            if job is None:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            try:
                self.run_job(job)
            except Exception as err:  # the job fails with the reason; the worker lives on
                log.exception("job %s failed", job["id"])
                self.store.finish(job["id"], FAILED, error=f"internal error: {err}")

    def run_job(self, job: dict) -> None:
        """Score one claimed job and record its outcome (a deleted job is dropped)."""
        files = JobFiles(self.config.jobs_dir, job["id"])
        path = files.find_input()
        if path is None:
            self.store.finish(job["id"], FAILED, error="the uploaded file is gone from the "
                              "server's data folder; upload it again")
            return
        progress: dict = {}

        def on_progress(stage: str, info: dict) -> None:
            progress.update(info)
            self.store.update(job["id"], stage=stage, progress=dict(progress))

        self.store.update(job["id"], stage="faces", progress={})
        result = self.detector.predict_video(
            path, report_folder=files.report if self.config.report else None,
            on_progress=on_progress)
        result.path = job["filename"]
        if result.error:  # say the user's name, not the server's path
            result.error = result.error.replace(str(path), job["filename"])
        result.report = {k: _relative(v, files.folder) for k, v in result.report.items()}
        document = results_document([result], self.detector.run_info())
        write_text_atomic(files.json, json.dumps(document, indent=2))
        write_csv([result], self.detector.model_names, str(files.csv))
        finished = self.store.finish(
            job["id"], FAILED if result.failed else DONE, stage="finished",
            verdict=result.label, score=result.score, confidence=result.confidence,
            error=result.error, kind=result.kind)
        if not finished:  # deleted while it ran: leave nothing behind
            files.remove()

    def _clean(self) -> None:
        interval = min(60.0, self.config.keep_hours * 3600 / 4)
        while not self._stop.wait(interval):
            remove_expired(self.config, self.store)


def remove_expired(config, store: JobStore, now: float | None = None) -> list[str]:
    """Delete jobs (rows and files) that finished more than ``keep_hours`` ago."""
    cutoff = (time.time() if now is None else now) - config.keep_hours * 3600
    removed = store.expired(cutoff)
    for job_id in removed:
        JobFiles(config.jobs_dir, job_id).remove()
        store.delete(job_id)
    return removed


def _relative(value: str, folder: Path) -> str:
    """Report entries are paths, or a ``none: ...`` note; paths become folder-relative."""
    path = Path(value)
    return str(path.relative_to(folder)) if path.is_absolute() and path.is_relative_to(
        folder) else value
