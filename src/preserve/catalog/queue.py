"""A durable job queue in the catalogue database.

Jobs are rows, enqueued in the same transaction as the state change that causes them, so
nothing is lost or doubled between a database and a broker (docs/architecture.md, "Scaling out").
Workers claim with ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite the
``BEGIN IMMEDIATE`` write lock makes claims serial. A claim is a lease: a worker that dies
mid-job loses its lease when ``lease_until`` passes and another worker takes the job again;
a live worker renews its lease while the job runs (:func:`renew`).

Two kinds of trouble are kept apart:

- a job that **fails** backs off exponentially with jitter until ``max_attempts``, then is dead;
- a job that **waits** for a store that is down (:func:`retry_later`) gives its attempt back:
  an outage of any length never kills it. When the job names the store it needs
  (``resource``), the store gets an :class:`~preserve.catalog.models.Outage` row and all its
  jobs are held until the outage's ``retry_after``; then one job is let through as a probe.
  So a down target delays only its own copies and costs one probe per backoff step, not one
  connection timeout per queued job; when the probe succeeds every held job runs at once.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from preserve.catalog.models import Job, JobState, Outage
from preserve.catalog.types import utcnow
from preserve.catalog.wake import announce
from preserve.logs import request_id

BASE_BACKOFF_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 3600.0
# A down store is probed at least this often, so copies resume soon after it returns.
MAX_OUTAGE_BACKOFF_SECONDS = 300.0
_MAX_EXPONENT = 62  # 2.0 ** 62 is still a finite float; any attempt count is safe


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any],
    *,
    dedupe_key: str | None = None,
    run_after: datetime | None = None,
    resource: str | None = None,
) -> Job:
    """Add a job. With ``dedupe_key``, a live job with that key is returned instead of a new
    one, and a finished one is re-armed: the same work is never queued twice.

    ``resource`` names the store the job needs (``target:<name>``), so an outage of that
    store holds the job instead of failing it. The request id of the request (or job) that
    enqueues it goes into the payload, so the job's log lines carry it too. A job runnable now
    wakes the workers when the transaction commits (:mod:`preserve.catalog.wake`)."""
    if run_after is None or run_after <= utcnow():
        announce(session)
    rid = request_id.get()
    if rid is not None and "request_id" not in payload:
        payload = {**payload, "request_id": rid}
    if dedupe_key is not None:
        existing = session.scalar(select(Job).where(Job.dedupe_key == dedupe_key))
        if existing is not None:
            if existing.state in (JobState.DONE, JobState.DEAD):
                existing.state = JobState.QUEUED
                existing.attempts = 0
                existing.waits = 0
                existing.payload = payload
                existing.resource = resource
                existing.run_after = run_after or utcnow()
                existing.last_error = None
                existing.finished_at = None
            return existing
    job = Job(
        kind=kind,
        payload=payload,
        dedupe_key=dedupe_key,
        resource=resource,
        run_after=run_after or utcnow(),
        waits=0,
    )
    session.add(job)
    session.flush()
    return job


def claim(
    session: Session, worker_id: str, lease_seconds: int, kinds: list[str] | None = None
) -> Job | None:
    """Take the next runnable job under a lease, or None. The caller commits.

    A job whose store is in an outage is not runnable before the outage's ``retry_after``;
    the first job claimed after it is the probe, and the outage is pushed back by a lease so
    the other workers do not all probe the same dead store at once."""
    now = utcnow()
    for _ in range(3):
        job = _next_runnable(session, now, kinds)
        if job is None:
            return None
        if job.resource is None or _take_probe(session, job.resource, now, lease_seconds):
            job.state = JobState.RUNNING
            job.attempts += 1
            job.locked_by = worker_id
            job.lease_until = now + timedelta(seconds=lease_seconds)
            return job
    return None


def _next_runnable(session: Session, now: datetime, kinds: list[str] | None) -> Job | None:
    runnable = or_(
        (Job.state == JobState.QUEUED) & (Job.run_after <= now),
        (Job.state == JobState.RUNNING) & (Job.lease_until < now),
    )
    held = select(Outage.resource).where(Outage.retry_after > now)
    stmt = (
        select(Job)
        .where(runnable, or_(Job.resource.is_(None), Job.resource.not_in(held)))
        .order_by(Job.run_after, Job.id)
        .limit(1)
    )
    if kinds:
        stmt = stmt.where(Job.kind.in_(kinds))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=Job)
    return session.scalar(stmt)


def _take_probe(session: Session, resource: str, now: datetime, lease_seconds: int) -> bool:
    """True unless another worker took this store's probe since our SELECT."""
    if session.scalar(select(Outage.resource).where(Outage.resource == resource)) is None:
        return True
    result = session.execute(
        update(Outage)
        .where(Outage.resource == resource, Outage.retry_after <= now)
        .values(retry_after=now + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def running_on(session: Session, host: str) -> list[tuple[int, str]]:
    """The running jobs whose lease a worker on ``host`` holds: ``(job id, worker id)``."""
    rows = session.execute(
        select(Job.id, Job.locked_by).where(
            Job.state == JobState.RUNNING, Job.locked_by.startswith(f"{host}:", autoescape=True)
        )
    )
    return [(job_id, locked_by) for job_id, locked_by in rows]


def release(session: Session, job_id: int, worker_id: str) -> bool:
    """End the lease ``worker_id`` holds on a job now (its worker is gone), so the job is
    runnable at once instead of when the lease would have run out."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.locked_by == worker_id, Job.state == JobState.RUNNING)
        .values(lease_until=utcnow() - timedelta(seconds=1))
    )
    return result.rowcount == 1


def renew(session: Session, job_id: int, worker_id: str, lease_seconds: int) -> bool:
    """Extend a running job's lease; False means the lease was lost to another worker."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.locked_by == worker_id, Job.state == JobState.RUNNING)
        .values(lease_until=utcnow() + timedelta(seconds=lease_seconds))
    )
    return result.rowcount == 1


def complete(session: Session, job_id: int, worker_id: str) -> bool:
    """Mark done if this worker still holds the lease; False means another worker took over.

    A job that needed a store and finished proves the store is back: its outage ends."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.locked_by == worker_id, Job.state == JobState.RUNNING)
        .values(state=JobState.DONE, finished_at=utcnow(), lease_until=None, last_error=None)
    )
    if result.rowcount != 1:
        return False
    resource = session.scalar(select(Job.resource).where(Job.id == job_id))
    if resource is not None:
        end_outage(session, resource)
    return True


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


def retry_later(
    session: Session,
    job_id: int,
    worker_id: str,
    reason: str,
    *,
    store_down: bool = True,
    max_backoff: float = MAX_OUTAGE_BACKOFF_SECONDS,
) -> None:
    """Put a job back to wait for storage, without counting it as a failure of the job.

    With ``store_down`` and a job that names its store, the store's outage holds every job
    that needs it; otherwise this job alone backs off by the number of times it waited."""
    job = session.get(Job, job_id)
    if job is None or job.locked_by != worker_id or job.state != JobState.RUNNING:
        return
    job.state = JobState.QUEUED
    job.last_error = reason[:4000]
    job.lease_until = None
    job.attempts = max(0, job.attempts - 1)
    job.waits = (job.waits or 0) + 1
    if store_down and job.resource is not None:
        note_outage(session, job.resource, reason, max_backoff=max_backoff)
        job.run_after = utcnow()
    else:
        job.run_after = utcnow() + timedelta(seconds=backoff(job.waits, max_backoff))


def note_outage(
    session: Session, resource: str, error: str, *, max_backoff: float = MAX_OUTAGE_BACKOFF_SECONDS
) -> Outage:
    """Record (or extend) an outage of ``resource``; its jobs are held until ``retry_after``."""
    now = utcnow()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(Outage).values(
        resource=resource, since=now, retry_after=now, failures=1, last_error=error[:4000]
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[Outage.resource],
        set_={"failures": Outage.failures + 1, "last_error": error[:4000]},
    )
    session.execute(stmt)
    outage = session.get(Outage, resource, populate_existing=True)
    assert outage is not None
    outage.retry_after = now + timedelta(seconds=backoff(outage.failures, max_backoff))
    session.flush()
    return outage


def end_outage(session: Session, resource: str) -> None:
    session.execute(
        delete(Outage)
        .where(Outage.resource == resource)
        .execution_options(synchronize_session=False)
    )


def backoff(attempt: int, cap: float = MAX_BACKOFF_SECONDS) -> float:
    """Exponential backoff with jitter: a uniform draw from the upper half of the ceiling
    ("equal jitter"), so retries spread out but never come back sooner than half the step."""
    exponent = min(max(0, attempt - 1), _MAX_EXPONENT)
    ceiling = min(cap, BASE_BACKOFF_SECONDS * 2.0**exponent)
    return random.uniform(ceiling / 2, ceiling)


def jobs_in_state(session: Session, state: JobState, limit: int = 200) -> list[Job]:
    """Newest first: what the ops console lists (dead jobs with their last error)."""
    stmt = select(Job).where(Job.state == state).order_by(Job.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def job_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(Job.state, func.count()).group_by(Job.state)).all()
    return {str(state): int(n) for state, n in rows}


def retry_dead(session: Session, job_id: int, now: datetime) -> Job | None:
    """Give a dead job a fresh set of attempts, runnable now; None if it is not dead."""
    job = session.get(Job, job_id)
    if job is None or job.state != JobState.DEAD:
        return None
    job.state = JobState.QUEUED
    job.attempts = 0
    job.run_after = now
    job.finished_at = None
    job.locked_by = None
    job.lease_until = None
    session.flush()
    announce(session)
    return job
