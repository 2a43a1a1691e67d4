"""Auditing one replica in three steps, which the edges drive (the ``audit.replica`` job and
``preserve audit run``, both in :mod:`preserve.jobs.tasks.audit`):

1. plan, in one short transaction (:func:`plan_audit`): the AIP with its files' expected digests
   and its replicas, read and detached, and the target policies of the AIP's own profile;
2. execute, with no session (:func:`check_replica`): read every byte of the replica back;
3. record, in another short transaction (:func:`record_check`): event, check, replica state.

So a long audit never holds the database's write lock. Cold replicas are asked for a restore
first (:func:`request_restore`, :func:`restore_requested`) and audited once readable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from preserve.audit import cold, repository
from preserve.audit.auditor import (
    AuditOutcome,
    FileProblem,
    ReplicaAudit,
    audit_replica,
)
from preserve.audit.record import record_audit
from preserve.audit.repair import RepairResult
from preserve.audit.schedule import RESTORE_POLL, RESTORE_TIMEOUT, schedule_new
from preserve.audit.targets import TargetPolicy, policies_of, policy_for
from preserve.catalog.models import Aip, Replica
from preserve.catalog.repository import get_aip, get_replica
from preserve.catalog.types import utcnow
from preserve.settings import Settings
from preserve.storage.base import Store
from preserve.storage.preservation import settle
from preserve.storage.profiles import StorageProfile
from preserve.storage.stores import Stores
from preserve.trust.keyring import TrustedKeys

__all__ = [
    "AuditOutcome",
    "AuditPlan",
    "AuditRun",
    "FileProblem",
    "ReplicaAudit",
    "Selection",
    "audit_replica",
    "check_replica",
    "plan_audit",
    "record_audit",
    "record_check",
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


@dataclass(frozen=True)
class AuditPlan:
    """One replica's audit as planned: the AIP (detached, with its files and replicas), the
    target, and the policies of every target of the AIP's profile (repair reads the others)."""

    aip: Aip
    target: str
    policies: dict[str, TargetPolicy]
    settings: Settings
    profile: StorageProfile | None = None

    def policy(self, target: str | None = None) -> TargetPolicy:
        return policy_for(self.policies, target or self.target, self.settings)

    @property
    def replica(self) -> Replica | None:
        return next((r for r in self.aip.replicas if r.target == self.target), None)


def plan_audit(
    session: Session, stores: Stores, settings: Settings, aip_id: str, target: str
) -> AuditPlan:
    """Read what auditing ``aip_id`` on ``target`` needs; the objects outlive the session."""
    aip = get_aip(session, aip_id)
    session.expunge(aip)  # with its files and replicas (cascade): read-only from here on
    policies = policies_of(stores.profile(aip.storage_profile), settings)
    profile = stores.profile(aip.storage_profile)
    return AuditPlan(aip, target, policies, settings, profile)


def check_replica(
    plan: AuditPlan,
    store: Store,
    trusted: TrustedKeys,
    *,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> ReplicaAudit:
    """Re-hash every file of the plan's AIP in ``store`` (the planned target's, or a repair
    candidate's) and check its signature; no session."""
    every = plan.settings.audit_every_payload_digest
    audit = audit_replica(store, plan.aip, trusted, progress, workers=workers, every_digest=every)
    audit.checked_at = utcnow()
    return audit


def record_check(session: Session, plan: AuditPlan, audit: ReplicaAudit) -> int:
    """Record ``audit`` (of the plan's AIP, on ``audit.target``); the new check's id. The SIP
    leaves PRESERVED for AT_RISK when the policy no longer holds over verified replicas, and
    comes back when it does again (:func:`settle_state`)."""
    check = record_audit(session, plan.aip, audit, policy=plan.policy(audit.target))
    settle_state(session, plan, f"audit of the replica on {audit.target}: {audit.outcome.value}")
    return check.id


def settle_state(session: Session, plan: AuditPlan, why: str) -> None:
    if plan.profile is not None:
        settle(session, plan.aip, plan.profile, why)


def waits_for_restore(plan: AuditPlan, store: Store) -> bool:
    """A cold replica whose restore was asked for and is not readable yet (for up to
    :data:`RESTORE_TIMEOUT`; after that it is audited anyway, and fails unreadable)."""
    replica = plan.replica
    if not plan.policy().cold or replica is None or replica.restore_requested_at is None:
        return False
    waited = utcnow() - replica.restore_requested_at
    return waited < RESTORE_TIMEOUT and not cold.is_readable(store, plan.aip.id)


def needs_restore(plan: AuditPlan, store: Store) -> bool:
    """A cold replica that cannot be read now (the operator's run asks for a restore)."""
    return plan.policy().cold and not cold.is_readable(store, plan.aip.id)


def request_restore(store: Store, aip_id: str) -> int:
    """Ask the cold store for a readable copy of every object of the replica."""
    return cold.request_restore(store, aip_id)


def restore_requested(session: Session, aip_id: str, target: str) -> None:
    replica = get_replica(session, aip_id, target)
    if replica is not None:
        replica.restore_requested_at = utcnow()
        replica.next_audit_at = utcnow() + RESTORE_POLL


def poll_later(session: Session, aip_id: str, target: str) -> None:
    """Look at a replica waiting for its restore again in :data:`RESTORE_POLL`."""
    replica = get_replica(session, aip_id, target)
    if replica is not None:
        replica.next_audit_at = utcnow() + RESTORE_POLL


def storage_profile_of(session: Session, aip_id: str) -> str | None:
    return repository.storage_profile_of(session, aip_id)


def replicas_to_audit(
    session: Session,
    selection: Selection,
    now: datetime,
    policies: dict[str, TargetPolicy] | None = None,
) -> list[tuple[str, str]]:
    """(aip id, target) chosen; with ``due_only``, replicas new to the schedule (of the
    targets in ``policies``) get their first due time first."""
    if selection.due_only:
        for policy in (policies or {}).values():
            schedule_new(session, policy, now)
    due = now if selection.due_only else None
    return repository.replica_pairs(session, selection.aip_ids, selection.target, due)


def selection_bytes(session: Session, pairs: list[tuple[str, str]]) -> int:
    sizes = repository.aip_sizes(session, (a for a, _ in pairs))
    return sum(sizes.get(a, 0) for a, _ in pairs)
