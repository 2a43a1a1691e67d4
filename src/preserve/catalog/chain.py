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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

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
    """Give ``entries`` their places at the end of the chain, under the head row lock.

    Every other transaction that records events waits for this lock until this one commits,
    so what can be done before it is: the content digests, and what the checkpoint policy
    reads. Under the lock: the links (one batched UPDATE), the head, then the commit."""
    session.flush()
    digests = [content_digest(entry) for entry in entries]
    checkpointing = _Checkpointing.read(session)
    head = lock_head(session)
    seq, prev = head.seq, head.entry_hash
    links = []
    for entry, digest in zip(entries, digests, strict=True):
        seq += 1
        entry_hash = link(prev, digest)
        links.append({"eid": entry.id, "s": seq, "p": prev, "h": entry_hash})
        prev = entry_hash
    session.execute(_LINK, links)
    for entry, row in zip(entries, links, strict=True):
        set_committed_value(entry, "seq", row["s"])
        set_committed_value(entry, "prev_hash", row["p"])
        set_committed_value(entry, "entry_hash", row["h"])
    head.seq, head.entry_hash, head.updated_at = seq, prev, utcnow()
    session.flush()
    checkpointing.arm(session, head.seq)
    return head


_LINK = (
    update(Event.__table__)
    .where(Event.__table__.c.id == bindparam("eid"))
    .values(seq=bindparam("s"), prev_hash=bindparam("p"), entry_hash=bindparam("h"))
)


@dataclass(frozen=True)
class _Checkpointing:
    """What decides whether the signed checkpoint job must be (re)armed, read before the head
    lock; only when it must be is the job read again and written under the lock."""

    every_events: int
    every_minutes: float
    last_seq: int
    state: JobState | None
    run_after: datetime | None

    @classmethod
    def read(cls, session: Session) -> _Checkpointing:
        policy = CheckpointSettings()
        job = session.execute(
            select(Job.state, Job.run_after).where(Job.dedupe_key == _CHECKPOINT_DEDUPE_KEY)
        ).first()
        return cls(
            policy.every_events,
            policy.every_minutes,
            session.scalar(select(func.max(LogCheckpoint.seq_to))) or 0,
            job.state if job is not None else None,
            job.run_after if job is not None else None,
        )

    def due(self, head_seq: int, now: datetime) -> datetime:
        if head_seq - self.last_seq >= self.every_events:
            return now
        return now + timedelta(minutes=self.every_minutes)

    def arm(self, session: Session, head_seq: int) -> None:
        now = utcnow()
        due = self.due(head_seq, now)
        queued_in_time = self.state == JobState.QUEUED and self.run_after <= due
        if queued_in_time or self.state == JobState.RUNNING:
            return
        arm_checkpoint(session, due)


def arm_checkpoint(session: Session, due: datetime) -> None:
    """Make sure a signed checkpoint job (:mod:`preserve.trust.checkpoints`) is queued, to run
    by ``due`` at the latest; called under the chain head lock."""
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
