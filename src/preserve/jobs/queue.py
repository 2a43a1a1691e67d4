"""A durable job queue in the catalogue database.

Jobs are rows, enqueued in the same transaction as the state change that causes them, so
nothing is lost or doubled between a database and a broker (DESIGN.md, "Scaling out").
Workers claim with ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite the
``BEGIN IMMEDIATE`` write lock makes claims serial. A claim is a lease: a worker that dies
mid-job loses its lease when ``lease_until`` passes and another worker takes the job again.
Failures back off exponentially with full jitter until ``max_attempts``, then the job is dead.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from preserve.catalog.models import Job, JobState
from preserve.catalog.types import utcnow

BASE_BACKOFF_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 3600.0


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any],
    *,
    dedupe_key: str | None = None,
    run_after: datetime | None = None,
) -> Job:
    """Add a job. With ``dedupe_key``, a live job with that key is returned instead of a new
    one, and a finished one is re-armed: the same work is never queued twice."""
    if dedupe_key is not None:
        existing = session.scalar(select(Job).where(Job.dedupe_key == dedupe_key))
        if existing is not None:
            if existing.state in (JobState.DONE, JobState.DEAD):
                existing.state = JobState.QUEUED
                existing.attempts = 0
                existing.payload = payload
                existing.run_after = run_after or utcnow()
                existing.last_error = None
                existing.finished_at = None
            return existing
    job = Job(kind=kind, payload=payload, dedupe_key=dedupe_key, run_after=run_after or utcnow())
    session.add(job)
    session.flush()
    return job


def claim(session: Session, worker_id: str, lease_seconds: int, kinds: list[str] | None = None):
    """Take the next runnable job under a lease, or None. The caller commits."""
    now = utcnow()
    runnable = or_(
        (Job.state == JobState.QUEUED) & (Job.run_after <= now),
        (Job.state == JobState.RUNNING) & (Job.lease_until < now),
    )
    stmt = select(Job).where(runnable).order_by(Job.run_after, Job.id).limit(1)
    if kinds:
        stmt = stmt.where(Job.kind.in_(kinds))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    job = session.scalar(stmt)
    if job is None:
        return None
    job.state = JobState.RUNNING
    job.attempts += 1
    job.locked_by = worker_id
    job.lease_until = now + timedelta(seconds=lease_seconds)
    return job


def complete(session: Session, job_id: int, worker_id: str) -> bool:
    """Mark done if this worker still holds the lease; False means another worker took over."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.locked_by == worker_id, Job.state == JobState.RUNNING)
        .values(state=JobState.DONE, finished_at=utcnow(), lease_until=None, last_error=None)
    )
    return result.rowcount == 1


def fail(session: Session, job_id: int, worker_id: str, error: str, max_attempts: int) -> None:
    job = session.get(Job, job_id)
    if job is None or job.locked_by != worker_id or job.state != JobState.RUNNING:
        return
    job.last_error = error[:4000]
    job.lease_until = None
    if job.attempts >= max_attempts:
        job.state = JobState.DEAD
        job.finished_at = utcnow()
        return
    job.state = JobState.QUEUED
    job.run_after = utcnow() + timedelta(seconds=backoff(job.attempts))


def retry_later(session: Session, job_id: int, worker_id: str, reason: str) -> None:
    """Put a job back without counting it as a failure of the job itself."""
    job = session.get(Job, job_id)
    if job is None or job.locked_by != worker_id:
        return
    job.state = JobState.QUEUED
    job.last_error = reason[:4000]
    job.lease_until = None
    job.run_after = utcnow() + timedelta(seconds=backoff(job.attempts))


def backoff(attempt: int) -> float:
    """Exponential backoff with full jitter (the AWS architecture blog's recipe)."""
    ceiling = min(MAX_BACKOFF_SECONDS, BASE_BACKOFF_SECONDS * 2 ** max(0, attempt - 1))
    return random.uniform(ceiling / 2, ceiling)
