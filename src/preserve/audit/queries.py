"""The SQL behind reports, status and metrics: aggregates only, each served by an index.

Per-target holdings scan the replicas once; period figures read ``fixity_checks`` through its
time index; totals for /metrics read the small ``fixity_daily`` table, never the history.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Select, case, delete, distinct, func, literal, select
from sqlalchemy.orm import Session

from preserve.audit.repository import OPEN
from preserve.catalog.models import (
    Aip,
    Alert,
    DashboardSnapshot,
    FixityCheck,
    FixityDaily,
    Job,
    JobState,
    Replica,
    ReplicaState,
    Sip,
    SipState,
)
from preserve.catalog.types import UTCDateTime


@dataclass
class Holdings:
    objects: int = 0
    files: int = 0
    bytes: int = 0
    verified: int = 0
    failed: int = 0
    never_audited: int = 0
    covered: int = 0
    verified_bytes: int = 0


def holdings(
    session: Session,
    target: str | None = None,
    covered_since: dict[str, datetime] | None = None,
    default_since: datetime | None = None,
) -> dict[str, Holdings]:
    """Per target: replicas, files, bytes, states, verified bytes; with ``default_since`` (and
    per-target ``covered_since``), also the replicas whose last check is later (coverage as of
    now)."""
    since = None
    if default_since is not None:
        fallback = literal(default_since, UTCDateTime())
        whens = [
            (Replica.target == name, literal(ts, UTCDateTime()))
            for name, ts in (covered_since or {}).items()
        ]
        since = case(*whens, else_=fallback) if whens else fallback
    covered = (
        func.sum(case((Replica.last_audit_at > since, 1), else_=0))
        if since is not None
        else func.sum(0)
    )
    stmt = (
        select(
            Replica.target,
            func.count(),
            func.coalesce(func.sum(Replica.file_count), 0),
            func.coalesce(func.sum(Replica.total_bytes), 0),
            func.sum(case((Replica.state == ReplicaState.VERIFIED, 1), else_=0)),
            func.sum(case((Replica.state == ReplicaState.FAILED, 1), else_=0)),
            func.sum(case((Replica.last_audit_at.is_(None), 1), else_=0)),
            covered,
            func.sum(case((Replica.state == ReplicaState.VERIFIED, Replica.total_bytes), else_=0)),
        ).group_by(Replica.target)  # a replica carries its AIP's sizes: no join over the AIPs
    )
    if target:
        stmt = stmt.where(Replica.target == target)
    return {
        t: Holdings(int(n), int(f), int(b), *(int(x or 0) for x in rest))
        for t, n, f, b, *rest in session.execute(stmt)
    }


def _in_period(stmt: Select, since: datetime | None, until: datetime, target: str | None):
    if since is not None:
        stmt = stmt.where(FixityCheck.checked_at >= since)
    stmt = stmt.where(FixityCheck.checked_at < until)
    if target:
        stmt = stmt.where(FixityCheck.target == target)
    return stmt


def outcomes(
    session: Session, since: datetime | None, until: datetime, target: str | None = None
) -> dict[str, dict[str, tuple[int, int]]]:
    """target -> outcome -> (checks, bytes read) in the period."""
    stmt = select(
        FixityCheck.target,
        FixityCheck.outcome,
        func.count(),
        func.coalesce(func.sum(FixityCheck.bytes_read), 0),
    ).group_by(FixityCheck.target, FixityCheck.outcome)
    found: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    for t, outcome, n, b in session.execute(_in_period(stmt, since, until, target)):
        found[t][outcome] = (int(n), int(b))
    return found


def audited(
    session: Session, since: datetime | None, until: datetime, target: str | None = None
) -> dict[str, int]:
    """Distinct replicas checked in the period, per target."""
    stmt = select(FixityCheck.target, func.count(distinct(FixityCheck.aip_id))).group_by(
        FixityCheck.target
    )
    return {t: int(n) for t, n in session.execute(_in_period(stmt, since, until, target))}


def covered(session: Session, target: str, interval: timedelta, as_of: datetime) -> int:
    """Replicas of ``target`` checked within one interval before ``as_of``."""
    stmt = select(func.count(distinct(FixityCheck.aip_id))).where(
        FixityCheck.target == target,
        FixityCheck.checked_at > as_of - interval,
        FixityCheck.checked_at <= as_of,
    )
    return int(session.scalar(stmt) or 0)


def overdue(session: Session, before: datetime, target: str | None = None) -> dict[str, int]:
    """Replicas whose due time passed before ``before`` (now minus the grace period)."""
    stmt = (
        select(Replica.target, func.count())
        .where(Replica.audit_due_at < before)
        .group_by(Replica.target)
    )
    if target:
        stmt = stmt.where(Replica.target == target)
    return {t: int(n) for t, n in session.execute(stmt)}


def due_now(session: Session, now: datetime) -> dict[str, int]:
    stmt = (
        select(Replica.target, func.count())
        .where(Replica.next_audit_at <= now)
        .group_by(Replica.target)
    )
    return {t: int(n) for t, n in session.execute(stmt)}


def repairs(
    session: Session, since: datetime | None, until: datetime, target: str | None = None
) -> dict[str, int]:
    stmt = (
        select(FixityCheck.target, func.count())
        .where(FixityCheck.resolution == "repaired")
        .group_by(FixityCheck.target)
    )
    return {t: int(n) for t, n in session.execute(_in_period(stmt, since, until, target))}


def failures(
    session: Session,
    since: datetime | None,
    until: datetime,
    target: str | None = None,
    limit: int = 10_000,
) -> list[FixityCheck]:
    stmt = select(FixityCheck).where(FixityCheck.resolution.is_not(None))
    stmt = _in_period(stmt, since, until, target).order_by(FixityCheck.checked_at, FixityCheck.id)
    return list(session.scalars(stmt.limit(limit)))


def open_failures(session: Session, target: str | None = None) -> list[FixityCheck]:
    stmt = select(FixityCheck).where(FixityCheck.resolution.in_(OPEN))
    if target:
        stmt = stmt.where(FixityCheck.target == target)
    return list(session.scalars(stmt.order_by(FixityCheck.checked_at)))


def daily(
    session: Session, first: date, last: date, target: str | None = None
) -> dict[date, tuple[int, int]]:
    """day -> (checks, failures) from the daily counts."""
    stmt = (
        select(FixityDaily.day, func.sum(FixityDaily.checks), func.sum(FixityDaily.failures))
        .where(FixityDaily.day >= first, FixityDaily.day <= last)
        .group_by(FixityDaily.day)
    )
    if target:
        stmt = stmt.where(FixityDaily.target == target)
    return {d: (int(c), int(f)) for d, c, f in session.execute(stmt)}


def totals(session: Session) -> dict[str, tuple[int, int, int]]:
    """target -> (checks, bytes read, repairs) since the beginning, from the daily counts."""
    stmt = select(
        FixityDaily.target,
        func.sum(FixityDaily.checks),
        func.sum(FixityDaily.bytes_read),
        func.sum(FixityDaily.repairs),
    ).group_by(FixityDaily.target)
    return {t: (int(c), int(b), int(r)) for t, c, b, r in session.execute(stmt)}


def failure_counts(session: Session) -> dict[tuple[str, str], int]:
    """(target, outcome) -> failed checks since the beginning (failures carry a resolution)."""
    stmt = (
        select(FixityCheck.target, FixityCheck.outcome, func.count())
        .where(FixityCheck.resolution.is_not(None))
        .group_by(FixityCheck.target, FixityCheck.outcome)
    )
    return {(t, o): int(n) for t, o, n in session.execute(stmt)}


def open_failure_counts(session: Session) -> dict[str, int]:
    stmt = (
        select(FixityCheck.target, func.count())
        .where(FixityCheck.resolution.in_(OPEN))
        .group_by(FixityCheck.target)
    )
    return {t: int(n) for t, n in session.execute(stmt)}


def aip_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Aip)) or 0


def alerts_per_target(session: Session, kind: str) -> dict[str, int]:
    stmt = (
        select(Alert.target, func.count())
        .where(Alert.kind == kind, Alert.target.is_not(None))
        .group_by(Alert.target)
    )
    return {target: n for target, n in session.execute(stmt)}


def aips_at_risk(session: Session) -> int:
    """AIPs whose SIP left PRESERVED because the policy no longer holds over verified copies."""
    stmt = select(func.count()).select_from(Sip).where(Sip.state == SipState.AT_RISK)
    return session.scalar(stmt) or 0


def first_check_at(session: Session) -> datetime | None:
    return session.scalar(select(func.min(FixityCheck.checked_at)))


def replica_states(session: Session) -> list[tuple[str, str, int]]:
    """(target, state, replicas), sorted."""
    stmt = select(Replica.target, Replica.state, func.count()).group_by(
        Replica.target, Replica.state
    )
    rows = [
        (t, s.value if isinstance(s, ReplicaState) else str(s), int(n))
        for t, s, n in session.execute(stmt)
    ]
    return sorted(rows, key=lambda r: (r[0], r[1]))


def alert_counts(session: Session) -> list[tuple[str, int]]:
    """(severity, alerts raised), by severity."""
    stmt = select(Alert.severity, func.count()).group_by(Alert.severity).order_by(Alert.severity)
    return [(s, int(n)) for s, n in session.execute(stmt)]


def replication_backlog(session: Session) -> int:
    """Replication jobs queued or running."""
    stmt = (
        select(func.count())
        .select_from(Job)
        .where(Job.kind == "storage.replicate", Job.state.in_((JobState.QUEUED, JobState.RUNNING)))
    )
    return session.scalar(stmt) or 0


def pending_replicas(session: Session) -> int:
    stmt = select(func.count()).select_from(Replica).where(Replica.state == ReplicaState.PENDING)
    return session.scalar(stmt) or 0


def verified_target_sets(session: Session, targets: list[str]) -> list[tuple[str, int, int]]:
    """(profile, bit mask of verified targets, AIPs): one row per distinct placement, so the
    policy is judged once per placement, not once per AIP. Bit ``i`` is ``targets[i]``; a
    target not listed adds nothing. Integer sums, not string aggregation: one cheap pass."""
    bit = case(
        *[(Replica.target == name, literal(1 << i)) for i, name in enumerate(targets[:62])],
        else_=literal(0),
    )
    per_aip = (
        select(Replica.aip_id, func.sum(bit).label("mask"))
        .where(Replica.state == ReplicaState.VERIFIED)
        .group_by(Replica.aip_id)
        .subquery()
    )
    stmt = (
        select(Aip.storage_profile, per_aip.c.mask, func.count())
        .join(per_aip, per_aip.c.aip_id == Aip.id)
        .group_by(Aip.storage_profile, per_aip.c.mask)
    )
    return [(p, int(m or 0), int(n)) for p, m, n in session.execute(stmt)]


def recent_repairs(session: Session, limit: int = 20) -> list[FixityCheck]:
    stmt = (
        select(FixityCheck)
        .where(FixityCheck.resolution.in_(("repaired", "resolved")))
        .order_by(FixityCheck.resolved_at.desc(), FixityCheck.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def recent_alerts(session: Session, limit: int = 20) -> list[Alert]:
    stmt = select(Alert).order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def latest_snapshot(session: Session) -> DashboardSnapshot | None:
    """The dashboard snapshot taken last (by its time), if any."""
    stmt = select(DashboardSnapshot).order_by(
        DashboardSnapshot.taken_at.desc(), DashboardSnapshot.id.desc()
    )
    return session.scalar(stmt.limit(1))


def save_snapshot(session: Session, taken_at: datetime, figures: dict) -> DashboardSnapshot:
    """Store a new snapshot and drop the others: only the latest is read."""
    row = DashboardSnapshot(taken_at=taken_at, figures=figures)
    session.add(row)
    session.flush()
    session.execute(delete(DashboardSnapshot).where(DashboardSnapshot.id != row.id))
    return row


def snapshot_time(session: Session) -> datetime | None:
    """When the latest dashboard snapshot was taken (for /metrics: one index lookup)."""
    return session.scalar(select(func.max(DashboardSnapshot.taken_at)))
