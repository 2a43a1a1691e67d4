"""The fixity summary a preservation officer reads (and hands to an auditor)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from preserve.catalog.events import EventType
from preserve.catalog.models import Aip, Event, Replica, ReplicaState


@dataclass
class TargetSummary:
    target: str
    replicas: int = 0
    verified: int = 0
    bytes: int = 0
    audited_in_period: int = 0
    ok: int = 0
    failed: int = 0
    never_audited: int = 0


@dataclass
class FailureEntry:
    aip_id: str
    target: str | None
    time: str
    detail: str


@dataclass
class FixityReport:
    generated_at: str
    period_from: str | None
    period_to: str | None
    aips: int
    targets: list[TargetSummary] = field(default_factory=list)
    failures: list[FailureEntry] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def fixity_report(
    session: Session, since: datetime | None, until: datetime | None, now: datetime
) -> FixityReport:
    report = FixityReport(
        generated_at=now.isoformat(),
        period_from=since.isoformat() if since else None,
        period_to=until.isoformat() if until else None,
        aips=session.scalar(select(func.count()).select_from(Aip)) or 0,
    )
    targets: dict[str, TargetSummary] = {}
    rows = session.execute(
        select(Replica.target, Replica.state, Replica.last_audit_at, Aip.total_bytes).join(Aip)
    )
    for target, state, last_audit, size in rows:
        t = targets.setdefault(target, TargetSummary(target))
        t.replicas += 1
        t.bytes += size
        t.verified += state == ReplicaState.VERIFIED
        t.never_audited += last_audit is None
    events = select(Event).where(Event.type == EventType.FIXITY_CHECK.value)
    if since:
        events = events.where(Event.created_at >= since)
    if until:
        events = events.where(Event.created_at < until)
    for event in session.scalars(events.order_by(Event.id)):
        t = targets.setdefault(event.target or "?", TargetSummary(event.target or "?"))
        t.audited_in_period += 1
        if event.outcome == "success":
            t.ok += 1
        else:
            t.failed += 1
            report.failures.append(
                FailureEntry(
                    event.object_id, event.target, event.created_at.isoformat(), event.detail
                )
            )
    report.targets = sorted(targets.values(), key=lambda t: t.target)
    return report
