"""Running audits: choose replicas, audit each, record the check, repair what failed.

The scheduler's jobs (:mod:`preserve.jobs.tasks.audit`) and the operator's ``preserve audit run``
call the same functions. Each replica is read outside any transaction and its outcome recorded
in a short one, so a long audit never holds the database's write lock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from preserve.audit import cold
from preserve.audit.auditor import (
    AuditOutcome,
    FileProblem,
    ReplicaAudit,
    audit_replica,
)
from preserve.audit.record import record_audit
from preserve.audit.repair import RepairResult, repair_replica
from preserve.audit.schedule import RESTORE_POLL, RESTORE_TIMEOUT, schedule_new
from preserve.audit.targets import TargetPolicy, policies_of, policy_for, target_policies
from preserve.catalog.models import Aip, Replica, ReplicaState
from preserve.catalog.repository import get_aip, get_replica
from preserve.catalog.types import utcnow
from preserve.runtime import Runtime

__all__ = [
    "AuditOutcome",
    "AuditRun",
    "FileProblem",
    "ReplicaAudit",
    "audit_all",
    "audit_replica",
    "record_audit",
    "run_audits",
]


@dataclass
class AuditRun:
    audits: list[ReplicaAudit] = field(default_factory=list)
    repairs: dict[tuple[str, str], RepairResult] = field(default_factory=dict)
    restores_requested: list[tuple[str, str]] = field(default_factory=list)

    @property
    def failed(self) -> list[ReplicaAudit]:
        return [a for a in self.audits if a.outcome != AuditOutcome.OK]

    @property
    def unrepaired(self) -> list[ReplicaAudit]:
        return [
            a
            for a in self.failed
            if not (r := self.repairs.get((a.aip_id, a.target))) or not r.repaired
        ]


@dataclass(frozen=True)
class Selection:
    aip_ids: list[str] | None = None
    target: str | None = None
    due_only: bool = False


def audit_all(
    rt: Runtime,
    aip_ids: list[str] | None = None,
    target: str | None = None,
    progress: Callable[[int], None] | None = None,
    *,
    repair: bool = False,
) -> list[ReplicaAudit]:
    """Audit every replica (of the given AIPs, on the given target) and record the checks."""
    return run_audits(rt, Selection(aip_ids, target), progress, repair=repair).audits


def run_audits(
    rt: Runtime,
    selection: Selection,
    progress: Callable[[int], None] | None = None,
    *,
    repair: bool = False,
    now: datetime | None = None,
) -> AuditRun:
    run = AuditRun()
    for aip_id, target in replicas_to_audit(rt, selection, now or utcnow()):
        aip, policies = _load(rt, aip_id)
        policy = policy_for(policies, target, rt.settings)
        store = rt.store(aip.storage_profile, target)
        if policy.cold and not cold.is_readable(store, aip.id):
            cold.request_restore(store, aip.id)
            _mark_restore_requested(rt, aip.id, target)
            run.restores_requested.append((aip.id, target))
            continue
        audit = audit_and_record(rt, aip, target, policies, repair=repair, progress=progress)
        run.audits.append(audit)
        if audit.repair is not None:
            run.repairs[(aip.id, target)] = audit.repair
    return run


def audit_and_record(
    rt: Runtime,
    aip: Aip,
    target: str,
    policies: dict[str, TargetPolicy],
    *,
    repair: bool,
    progress: Callable[[int], None] | None = None,
) -> ReplicaAudit:
    store = rt.store(aip.storage_profile, target)
    workers = rt.settings.audit_workers
    audit = audit_replica(store, aip, rt.trusted_keys(), progress, workers=workers)
    audit.checked_at = utcnow()
    with rt.sessions.begin() as session:
        check = record_audit(session, aip, audit, policy=policy_for(policies, target, rt.settings))
        check_id = check.id
    if repair and audit.outcome != AuditOutcome.OK:
        audit.repair = repair_replica(rt, aip, target, check_id, policies)
    return audit


def run_scheduled_audit(rt: Runtime, aip_id: str, target: str) -> ReplicaAudit | None:
    """The ``audit.replica`` job: a cold replica waits (up to a limit) until it is restored."""
    aip, policies = _load(rt, aip_id)
    policy = policy_for(policies, target, rt.settings)
    replica = next((r for r in aip.replicas if r.target == target), None)
    if replica is None:
        return None
    if policy.cold and replica.restore_requested_at is not None:
        store = rt.store(aip.storage_profile, target)
        waited = utcnow() - replica.restore_requested_at
        if waited < RESTORE_TIMEOUT and not cold.is_readable(store, aip.id):
            with rt.sessions.begin() as session:
                row = get_replica(session, aip.id, target)
                if row is not None:
                    row.next_audit_at = utcnow() + RESTORE_POLL
            return None
    return audit_and_record(rt, aip, target, policies, repair=True)


def request_restore(rt: Runtime, aip_id: str, target: str) -> int:
    """The ``audit.restore`` job."""
    with rt.sessions.begin() as session:
        profile = session.scalar(select(Aip.storage_profile).where(Aip.id == aip_id))
    if profile is None:
        return 0
    return cold.request_restore(rt.store(profile, target), aip_id)


def replicas_to_audit(rt: Runtime, selection: Selection, now: datetime) -> list[tuple[str, str]]:
    with rt.sessions.begin() as session:
        if selection.due_only:
            for policy in target_policies(rt, session).values():
                schedule_new(session, policy, now)
        stmt = select(Replica.aip_id, Replica.target).where(Replica.state != ReplicaState.PENDING)
        if selection.aip_ids:
            stmt = stmt.where(Replica.aip_id.in_(selection.aip_ids))
        if selection.target:
            stmt = stmt.where(Replica.target == selection.target)
        if selection.due_only:
            stmt = stmt.where(Replica.next_audit_at <= now)
        stmt = stmt.join(Aip, Aip.id == Replica.aip_id).order_by(Aip.created_at, Replica.target)
        return [(a, t) for a, t in session.execute(stmt)]


def selection_bytes(rt: Runtime, selection: Selection, now: datetime | None = None) -> int:
    pairs = replicas_to_audit(rt, selection, now or utcnow())
    ids = sorted({a for a, _ in pairs})
    with rt.sessions.begin() as session:
        sizes = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = session.execute(select(Aip.id, Aip.total_bytes).where(Aip.id.in_(chunk)))
            sizes.update({aip_id: size for aip_id, size in rows})
    return sum(sizes.get(a, 0) for a, _ in pairs)


def _load(rt: Runtime, aip_id: str) -> tuple[Aip, dict[str, TargetPolicy]]:
    """The AIP with its files and replicas (detached), and its own profile's target policies."""
    with rt.sessions.begin() as session:
        aip = get_aip(session, aip_id)
        session.expunge_all()
    return aip, policies_of(rt.profile(aip.storage_profile), rt.settings)


def _mark_restore_requested(rt: Runtime, aip_id: str, target: str) -> None:
    with rt.sessions.begin() as session:
        replica = get_replica(session, aip_id, target)
        if replica is not None:
            replica.restore_requested_at = utcnow()
            replica.next_audit_at = utcnow() + RESTORE_POLL
