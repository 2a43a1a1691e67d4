"""Recording checks: a PREMIS event (the evidence), a FixityCheck row (the index), daily counts.

A failed check starts ``pending``; it ends ``repaired`` (see :mod:`preserve.audit.repair`),
``unrepairable`` (no good copy: an alert was raised), ``resolved`` (a later check of the same
replica came back ok) or ``superseded`` (a later check failed again and carries the state).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from preserve.audit.auditor import AuditOutcome, ReplicaAudit
from preserve.audit.repository import (
    OPEN,
    PENDING,
    REPAIRED,
    RESOLVED,
    SUPERSEDED,
    UNREPAIRABLE,
    bump_daily,
    close_open,
)
from preserve.audit.schedule import reschedule
from preserve.audit.targets import TargetPolicy
from preserve.catalog.events import EventType, Outcome, record_event
from preserve.catalog.models import Aip, FixityCheck, ReplicaState
from preserve.catalog.repository import get_replica
from preserve.catalog.types import utcnow

__all__ = [
    "OPEN",
    "PENDING",
    "REPAIRED",
    "RESOLVED",
    "SUPERSEDED",
    "UNREPAIRABLE",
    "bump_daily",
    "close_open",
    "record_audit",
]


def record_audit(
    session: Session, aip: Aip, audit: ReplicaAudit, *, policy: TargetPolicy | None = None
) -> FixityCheck:
    now = audit.checked_at or utcnow()
    audit.checked_at = now
    ok = audit.outcome == AuditOutcome.OK
    replica = get_replica(session, aip.id, audit.target)
    if replica is not None:
        replica.last_audit_at = now
        replica.last_audit_outcome = audit.outcome.value
        if not ok:
            replica.state = ReplicaState.FAILED
        elif replica.state == ReplicaState.FAILED:  # whole again (a store back from an outage)
            replica.state = ReplicaState.VERIFIED
            replica.verified_at = now
        if policy is not None:
            reschedule(replica, policy, now, ok)
    record_event(
        session,
        EventType.FIXITY_CHECK,
        Outcome.SUCCESS if ok else Outcome.FAILURE,
        object_type="aip",
        object_id=aip.id,
        agency_id=aip.agency_id,
        target=audit.target,
        detail=audit.summary(),
    )
    close_open(session, aip.id, audit.target, RESOLVED if ok else SUPERSEDED, now)
    check = FixityCheck(
        aip_id=aip.id,
        target=audit.target,
        checked_at=now,
        outcome=audit.outcome.value,
        files_checked=audit.files_checked,
        bytes_read=audit.bytes_read,
        detail=audit.summary(20)[:4000],
        resolution=None if ok else PENDING,
    )
    session.add(check)
    session.flush()
    failures = 0 if ok else 1
    bump_daily(session, now, audit.target, checks=1, failures=failures, bytes=audit.bytes_read)
    return check
