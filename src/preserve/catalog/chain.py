"""The tamper-evident event log: every event carries the hash of the one before it.

An entry's *content digest* is the SHA-256 of a canonical serialisation of the event (JSON with
sorted keys, no insignificant whitespace, UTF-8, the time in UTC with microseconds); its *entry
hash* links it to the chain::

    entry_hash = sha256("preserve-log/1\\n" + prev_hash + "\\n" + content_digest)

The first entry's ``prev_hash`` is 64 zeros. ``seq`` is the entry's position (1, 2, ...); it is
not hashed, the order is the chain itself. Content digests do not depend on the position, so a
signed checkpoint that lists them (:mod:`preserve.trust.checkpoints`) lets ``verify log`` tell
an edited entry from a deleted, inserted or moved one even after an intruder re-hashed the chain.

Appending takes the chain head row ``FOR UPDATE`` when the recording transaction commits: two
workers committing events at once on PostgreSQL queue on that row lock and never fork the chain
(on SQLite, ``BEGIN IMMEDIATE`` already serialises writers). Every other row the transaction
writes is flushed first, so the head lock is always the last lock a transaction takes and cannot
take part in a deadlock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from preserve.canonical import legacy
from preserve.catalog.models import Event, Job, JobState, LogCheckpoint, LogHead
from preserve.catalog.types import utcnow
from preserve.settings import CheckpointSettings

GENESIS = "0" * 64
CHECKPOINT_JOB_KIND = "trust.checkpoint"
_CHECKPOINT_DEDUPE_KEY = "trust:checkpoint"
HEAD_ID = 1
_PENDING = "preserve.chain.pending"
CONTENT_FIELDS = (
    "uuid",
    "type",
    "outcome",
    "detail",
    "agent",
    "object_type",
    "object_id",
    "agency_id",
    "target",
    "created_at",
)


def timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(doc: Any) -> bytes:
    """The serialisation content digests are taken of: part of the log's format
    (``preserve-log/1``), so it stays the legacy form for every entry ever hashed."""
    return legacy(doc)


def content(entry: Any) -> dict[str, Any]:
    """The hashed content of an event (an ORM ``Event`` or a row with the same columns)."""
    return {
        "v": 1,
        "id": entry.uuid,
        "type": entry.type,
        "outcome": entry.outcome,
        "detail": entry.detail,
        "agent": entry.agent,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "agency_id": entry.agency_id,
        "target": entry.target,
        "time": timestamp(entry.created_at),
    }


def content_digest(entry: Any) -> str:
    return hashlib.sha256(canonical(content(entry))).hexdigest()


def link(prev_hash: str, digest: str) -> str:
    return hashlib.sha256(f"preserve-log/1\n{prev_hash}\n{digest}".encode("ascii")).hexdigest()


def fold(prev_hash: str, digests: Iterable[str]) -> str:
    """The entry hash after appending entries with these content digests to ``prev_hash``."""
    for digest in digests:
        prev_hash = link(prev_hash, digest)
    return prev_hash


def track(session: Session, entry: Event) -> None:
    """Chain ``entry`` when ``session`` commits (called by ``record_event``)."""
    pending = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
    pending.append(entry)
    if not sa_event.contains(session, "before_commit", _seal_on_commit):
        sa_event.listen(session, "before_commit", _seal_on_commit)
        sa_event.listen(session, "after_rollback", _forget)


def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _seal_on_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: the outermost commit seals
    pending = [e for e in session.info.pop(_PENDING, []) if e in session and e.seq is None]
    if pending:
        seal(session, pending)


def lock_head(session: Session) -> LogHead:
    stmt = (
        select(LogHead)
        .where(LogHead.id == HEAD_ID)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    head = session.scalar(stmt)
    if head is None:
        head = LogHead(id=HEAD_ID, seq=0, entry_hash=GENESIS)
        session.add(head)
    return head


def seal(session: Session, entries: list[Event]) -> LogHead:
    """Give ``entries`` their places at the end of the chain, under the head row lock."""
    session.flush()
    head = lock_head(session)
    seq, prev = head.seq, head.entry_hash
    for entry in entries:
        seq += 1
        entry.seq, entry.prev_hash = seq, prev
        entry.entry_hash = prev = link(prev, content_digest(entry))
    head.seq, head.entry_hash, head.updated_at = seq, prev, utcnow()
    session.flush()
    arm_checkpoint(session, head.seq)
    return head


def arm_checkpoint(session: Session, head_seq: int) -> None:
    """Make sure a signed checkpoint job (:mod:`preserve.trust.checkpoints`) is queued; called
    under the chain head lock."""
    policy = CheckpointSettings()
    now = utcnow()
    due = now + timedelta(minutes=policy.every_minutes)
    last = session.scalar(select(func.max(LogCheckpoint.seq_to))) or 0
    if head_seq - last >= policy.every_events:
        due = now
    job = session.scalar(select(Job).where(Job.dedupe_key == _CHECKPOINT_DEDUPE_KEY))
    if job is None:
        session.add(
            Job(
                kind=CHECKPOINT_JOB_KIND,
                payload={},
                dedupe_key=_CHECKPOINT_DEDUPE_KEY,
                run_after=due,
            )
        )
    elif job.state in (JobState.DONE, JobState.DEAD):
        job.state, job.attempts, job.run_after = JobState.QUEUED, 0, due
        job.last_error, job.finished_at = None, None
    elif job.state == JobState.QUEUED and job.run_after > due:
        job.run_after = due
