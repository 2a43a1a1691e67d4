"""The SQL the audit runs with: which replicas to audit, the schedule's batches, the check
history it closes, the daily counts it adds to, the alerts left to deliver.

The aggregates behind reports, status and metrics are in :mod:`preserve.audit.queries`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Row, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from preserve.catalog.models import Aip, Alert, FixityCheck, FixityDaily, Replica, ReplicaState

# What became of a failed check (``fixity_checks.resolution``); see :mod:`preserve.audit.record`.
PENDING = "pending"
REPAIRED = "repaired"
UNREPAIRABLE = "unrepairable"
RESOLVED = "resolved"
SUPERSEDED = "superseded"
OPEN = (PENDING, UNREPAIRABLE)

SIZE_CHUNK = 500  # ids per IN (...) list


def profile_refs(session: Session) -> set[str]:
    """Every storage profile some AIP was placed under."""
    return set(session.scalars(select(Aip.storage_profile).distinct()))


def storage_profile_of(session: Session, aip_id: str) -> str | None:
    return session.scalar(select(Aip.storage_profile).where(Aip.id == aip_id))


def replica_pairs(
    session: Session,
    aip_ids: list[str] | None,
    target: str | None,
    due_before: datetime | None,
) -> list[tuple[str, str]]:
    """(aip id, target) of every written replica chosen, oldest AIP first."""
    stmt = select(Replica.aip_id, Replica.target).where(Replica.state != ReplicaState.PENDING)
    if aip_ids:
        stmt = stmt.where(Replica.aip_id.in_(aip_ids))
    if target:
        stmt = stmt.where(Replica.target == target)
    if due_before is not None:
        stmt = stmt.where(Replica.next_audit_at <= due_before)
    stmt = stmt.join(Aip, Aip.id == Replica.aip_id).order_by(Aip.created_at, Replica.target)
    return [(a, t) for a, t in session.execute(stmt)]


def aip_sizes(session: Session, aip_ids: Iterable[str]) -> dict[str, int]:
    ids = sorted(set(aip_ids))
    sizes: dict[str, int] = {}
    for start in range(0, len(ids), SIZE_CHUNK):
        chunk = ids[start : start + SIZE_CHUNK]
        rows = session.execute(select(Aip.id, Aip.total_bytes).where(Aip.id.in_(chunk)))
        sizes.update({aip_id: size for aip_id, size in rows})
    return sizes


def unscheduled(session: Session, target: str, limit: int) -> Sequence[Replica]:
    """Written replicas of ``target`` with no due time yet."""
    stmt = (
        select(Replica)
        .where(
            Replica.target == target,
            Replica.next_audit_at.is_(None),
            Replica.state != ReplicaState.PENDING,
        )
        .limit(limit)
    )
    return session.scalars(stmt).all()


def due_batch(session: Session, target: str, now: datetime, limit: int) -> Sequence[Row]:
    """(replica, AIP bytes) of ``target`` the scheduler should look at now, earliest first."""
    stmt = (
        select(Replica, Aip.total_bytes)
        .join(Aip, Aip.id == Replica.aip_id)
        .where(Replica.target == target, Replica.next_audit_at <= now)
        .order_by(Replica.next_audit_at)
        .limit(limit)
    )
    return session.execute(stmt).all()


def close_open(session: Session, aip_id: str, target: str, resolution: str, now: datetime) -> None:
    """Give every open failed check of the replica its final ``resolution``."""
    session.execute(
        update(FixityCheck)
        .where(
            FixityCheck.aip_id == aip_id,
            FixityCheck.target == target,
            FixityCheck.resolution.in_(OPEN),
        )
        .values(resolution=resolution, resolved_at=now)
    )


def bump_daily(
    session: Session,
    when: datetime,
    target: str,
    *,
    checks: int = 0,
    failures: int = 0,
    bytes: int = 0,
    repairs: int = 0,
) -> None:
    """Add to the day's counts in one statement (an upsert: safe with concurrent workers)."""
    values = {
        "day": when.date(),
        "target": target,
        "checks": checks,
        "failures": failures,
        "bytes_read": bytes,
        "repairs": repairs,
    }
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(FixityDaily).values(**values)
    table = FixityDaily.__table__.c
    counters = ("checks", "failures", "bytes_read", "repairs")
    stmt = stmt.on_conflict_do_update(
        index_elements=["day", "target"],
        set_={name: table[name] + stmt.excluded[name] for name in counters},
    )
    session.execute(stmt)


def undelivered_alerts(session: Session, since: datetime) -> list[int]:
    """Ids of the alerts raised since ``since`` that the webhook has not accepted yet."""
    stmt = select(Alert.id).where(Alert.delivered_at.is_(None), Alert.created_at >= since)
    return list(session.scalars(stmt))


def alert_since(session: Session, kind: str, target: str, since: datetime) -> bool:
    stmt = select(Alert.id).where(
        Alert.kind == kind, Alert.target == target, Alert.created_at >= since
    )
    return session.scalar(stmt.limit(1)) is not None
