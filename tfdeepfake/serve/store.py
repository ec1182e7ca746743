"""The job store: one table of jobs in any database SQLAlchemy speaks (SQLite by default).

A job moves ``uploading -> queued -> running -> done | failed``. Rows are written before
the work they describe starts, so a server killed at any moment leaves rows that say what
was happening; ``recover`` turns them into re-runs or failures with the reason on restart.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    Float,
    Integer,
    String,
    Text,
    create_engine,
    event,
    func,
    select,
    update,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

UPLOADING, QUEUED, RUNNING, DONE, FAILED = "uploading", "queued", "running", "done", "failed"
FINISHED = (DONE, FAILED)


class Base(DeclarativeBase):
    pass


class Job(Base):
    """One upload and what became of it."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    filename: Mapped[str] = mapped_column(Text)  # as the client sent it: shown, never a path
    status: Mapped[str] = mapped_column(String(16), index=True)
    stage: Mapped[str] = mapped_column(String(32), default="")
    progress: Mapped[dict] = mapped_column(JSON, default=dict)
    kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    verdict: Mapped[str | None] = mapped_column(String(32), nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[float] = mapped_column(Float, index=True)
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)

    def to_dict(self) -> dict[str, Any]:
        return {c.name: getattr(self, c.name) for c in self.__table__.columns}


class JobStore:
    """Create, claim, update, list and delete jobs; safe to use from several threads."""

    def __init__(self, url: str):
        sqlite = url.startswith("sqlite")
        connect_args = {"check_same_thread": False, "timeout": 30} if sqlite else {}
        self.engine = create_engine(url, connect_args=connect_args)
        if sqlite:
            event.listen(self.engine, "connect", _sqlite_wal)
        Base.metadata.create_all(self.engine)
        self._claim_lock = threading.Lock()

    def close(self) -> None:
        self.engine.dispose()

    def create(self, filename: str, status: str = UPLOADING, **fields) -> dict:
        fields = {"stage": "", "progress": {}, "attempts": 0, "size_bytes": 0, **fields}
        job = Job(id=uuid.uuid4().hex, filename=filename, status=status,
                  created_at=time.time(), **fields)
        with Session(self.engine) as session, session.begin():
            session.add(job)
            session.flush()
            return job.to_dict()

    def get(self, job_id: str) -> dict | None:
        with Session(self.engine) as session:
            job = session.get(Job, job_id)
            return job.to_dict() if job else None

    def list(self, limit: int = 100, offset: int = 0) -> list[dict]:
        """Newest first."""
        query = select(Job).order_by(Job.created_at.desc()).limit(limit).offset(offset)
        with Session(self.engine) as session:
            return [job.to_dict() for job in session.scalars(query)]

    def update(self, job_id: str, **fields) -> bool:
        """Set ``fields`` on a job; False when it no longer exists (deleted meanwhile)."""
        with Session(self.engine) as session, session.begin():
            done = session.execute(update(Job).where(Job.id == job_id).values(**fields))
            return done.rowcount > 0

    def finish(self, job_id: str, status: str, **fields) -> bool:
        return self.update(job_id, status=status, finished_at=time.time(), **fields)

    def delete(self, job_id: str) -> bool:
        with Session(self.engine) as session, session.begin():
            job = session.get(Job, job_id)
            if job is None:
                return False
            session.delete(job)
            return True

    def count(self, *statuses: str) -> int:
        with Session(self.engine) as session:
            query = select(func.count()).select_from(Job).where(Job.status.in_(statuses))
            return int(session.scalar(query))

    def queue_position(self, job: dict) -> int | None:
        """1 for the next job to run; None when the job is not queued."""
        if job["status"] != QUEUED:
            return None
        with Session(self.engine) as session:
            ahead = session.scalar(select(func.count()).select_from(Job).where(
                Job.status == QUEUED, Job.created_at < job["created_at"]))
            return int(ahead) + 1

    def claim_next(self) -> dict | None:
        """Mark the oldest queued job running and return it (None when the queue is empty).

        The conditional update makes a claim safe across processes sharing one database.
        """
        with self._claim_lock:
            while True:
                with Session(self.engine) as session, session.begin():
                    job = session.scalars(select(Job).where(Job.status == QUEUED)
                                          .order_by(Job.created_at).limit(1)).first()
                    if job is None:
                        return None
                    claimed = session.execute(
                        update(Job).where(Job.id == job.id, Job.status == QUEUED).values(
                            status=RUNNING, stage="starting", started_at=time.time(),
                            attempts=Job.attempts + 1))
                    if claimed.rowcount:
                        session.refresh(job)
                        return job.to_dict()

    def recover(self, max_attempts: int) -> dict[str, list[str]]:
        """After a restart: re-queue interrupted jobs (or fail them after ``max_attempts``
        starts) and fail half-received uploads. Returns the ids touched, by outcome."""
        outcome = {"requeued": [], "failed": []}
        with Session(self.engine) as session, session.begin():
            for job in session.scalars(select(Job).where(Job.status.in_((UPLOADING, RUNNING)))):
                if job.status == UPLOADING:
                    job.status, job.error = FAILED, (
                        "upload interrupted: the server stopped before the whole file "
                        "arrived; upload it again")
                elif job.attempts >= max_attempts:
                    job.status, job.error = FAILED, (
                        f"the server stopped while scoring this job {job.attempts} times; "
                        "it was not retried again (is the file too large for this machine?)")
                else:
                    job.status, job.stage = QUEUED, "requeued after a server restart"
                    job.progress = {}
                    outcome["requeued"].append(job.id)
                    continue
                job.finished_at = time.time()
                outcome["failed"].append(job.id)
        return outcome

    def expired(self, before: float) -> list[str]:
        """Ids of finished jobs that ended before ``before`` (epoch seconds)."""
        with Session(self.engine) as session:
            query = select(Job.id).where(Job.status.in_(FINISHED), Job.finished_at < before)
            return list(session.scalars(query))


def _sqlite_wal(connection, _record) -> None:
    """WAL lets readers (the page polling) run while a worker writes."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
