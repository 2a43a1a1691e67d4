"""``preserve audit status``: where the rolling audit stands now, per target."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from preserve.audit import queries
from preserve.audit.report import FailureEntry
from preserve.audit.targets import TargetPolicy


@dataclass
class TargetStatus:
    target: str
    mode: str
    interval_days: int
    replicas: int
    coverage: float
    due_now: int
    overdue: int
    never_audited: int
    open_failures: int


@dataclass
class AuditStatus:
    time: str
    targets: list[TargetStatus] = field(default_factory=list)
    open_failures: list[FailureEntry] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def audit_status(
    session: Session,
    policies: dict[str, TargetPolicy],
    now: datetime,
    grace: timedelta,
    target: str | None = None,
) -> AuditStatus:
    held = coverage_holdings(session, policies, now, target)
    return status_of(session, held, policies, now, grace, target)


def coverage_holdings(
    session: Session, policies: dict[str, TargetPolicy], now: datetime, target: str | None = None
) -> dict[str, queries.Holdings]:
    """Per target its holdings, ``covered`` counting the replicas checked within its interval."""
    since = {name: now - policy.interval for name, policy in policies.items()}
    return queries.holdings(session, target, since, now - TargetPolicy("?").interval)


def status_of(
    session: Session,
    held: dict[str, queries.Holdings],
    policies: dict[str, TargetPolicy],
    now: datetime,
    grace: timedelta,
    target: str | None = None,
) -> AuditStatus:
    """The status from holdings already counted (:func:`coverage_holdings`)."""
    due = queries.due_now(session, now)
    late = queries.overdue(session, now - grace, target)
    failing = queries.open_failures(session, target)
    status = AuditStatus(now.isoformat(), open_failures=[FailureEntry.of(c) for c in failing])
    for name in sorted(held):
        h = held[name]
        policy = policies.get(name) or TargetPolicy(name)
        covered = h.covered
        status.targets.append(
            TargetStatus(
                target=name,
                mode=policy.mode,
                interval_days=policy.interval_days,
                replicas=h.objects,
                coverage=round(covered / h.objects, 4) if h.objects else 0.0,
                due_now=due.get(name, 0),
                overdue=late.get(name, 0),
                never_audited=h.never_audited,
                open_failures=sum(1 for c in failing if c.target == name),
            )
        )
    return status
