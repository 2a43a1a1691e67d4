"""Repairing a replica that failed its audit, from a replica that verifies now.

Every other replica of the AIP is a candidate, warm targets before cold ones; each is audited
in full now (and that check is recorded), and the first that is entirely ok is the source.
Its bag is copied over the bad replica with :func:`preserve.storage.copy.copy_bag`, which keeps
objects that are already right and overwrites the rest (a new object version on versioned or
WORM targets); then the repaired replica is audited again. Only an ok audit counts as a repair.
No good candidate means a critical alert and nothing is written: an unverified copy is never
used to "repair" anything.

The edge drives the steps (:func:`preserve.jobs.tasks.audit.repair`), because each candidate
is read in full outside any transaction and its check recorded in a short one of its own:
:func:`candidates`, then per candidate the audit's plan/execute/record steps
(:mod:`preserve.audit.service`); :func:`unrepairable` when none verifies; else
:func:`copy_from` (no session), a new audit of the target, and :func:`record_outcome`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from preserve.aip import bag as bagit
from preserve.aip.layout import aip_key
from preserve.audit import alerts
from preserve.audit.auditor import AuditOutcome, ReplicaAudit
from preserve.audit.record import REPAIRED, UNREPAIRABLE, bump_daily, record_audit
from preserve.audit.targets import TargetPolicy, policy_for
from preserve.catalog.events import EventType, Outcome, record_event
from preserve.catalog.models import Aip, FixityCheck, ReplicaState
from preserve.catalog.repository import get_replica
from preserve.catalog.types import utcnow
from preserve.errors import IntegrityError
from preserve.settings import Settings
from preserve.storage.base import StorageError, read_bytes
from preserve.storage.copy import StoreSource, copy_bag, expected_digests
from preserve.storage.stores import Stores

log = logging.getLogger(__name__)


@dataclass
class RepairResult:
    repaired: bool
    source: str | None = None
    detail: str = ""
    alert_id: int | None = None
    candidates: dict[str, str] = field(default_factory=dict)


def candidates(
    aip: Aip, target: str, policies: dict[str, TargetPolicy], settings: Settings
) -> list[str]:
    """The targets to try as the source, in order: every other written replica, warm first."""
    others = [
        r.target for r in aip.replicas if r.target != target and r.state != ReplicaState.PENDING
    ]
    return sorted(others, key=lambda n: (policy_for(policies, n, settings).cold, n))


def copy_from(stores: Stores, aip: Aip, source: str, target: str) -> str | None:
    """Copy the bag from ``source`` (which verified just now) over ``target``, checking every
    object against the catalogue's digests; no session. The error, or None when it was copied."""
    good = stores.store(aip.storage_profile, source)
    bad = stores.store(aip.storage_profile, target)
    try:
        tagmanifest = read_bytes(good, aip_key(aip.id, bagit.TAGMANIFEST))
        payload = {f.path: f.sha256 for f in aip.files}
        expected = expected_digests(payload, tagmanifest, aip.tagmanifest_sha256)
        copy_bag(StoreSource(good, aip.id), bad, aip.id, expected, list(bagit.UNRECORDED))
    except (StorageError, IntegrityError) as exc:
        log.error("repair of %s on %s from %s failed: %s", aip.id, target, source, exc)
        return f"copy from {source} failed: {exc}"
    return None


def record_outcome(
    session: Session,
    aip: Aip,
    source: str,
    check_id: int,
    after: ReplicaAudit,
    policy: TargetPolicy,
    tried: dict[str, str],
) -> RepairResult:
    """Record the audit of the rewritten replica: a repair when it is ok, a critical alert
    (to deliver once committed) when it still fails."""
    target = after.target
    if after.outcome != AuditOutcome.OK:
        record_audit(session, aip, after, policy=policy)
        alert = alerts.raise_alert(
            session,
            alerts.CRITICAL,
            "repair-failed",
            f"replica still fails after repair from {source}: {after.summary(5)}",
            aip_id=aip.id,
            target=target,
        )
        return RepairResult(False, source, "verification after repair failed", alert.id, tried)
    _record_repair(session, aip, target, source, check_id, after)
    record_audit(session, aip, after, policy=policy)
    return RepairResult(True, source, f"repaired from {source}", None, tried)


def _record_repair(
    session: Session, aip: Aip, target: str, source: str, check_id: int, after: ReplicaAudit
) -> None:
    now = after.checked_at or utcnow()
    check = session.get(FixityCheck, check_id)
    if check is not None:
        check.resolution = REPAIRED
        check.resolved_at = now
        check.repair_source = source
    replica = get_replica(session, aip.id, target)
    if replica is not None:
        replica.state = ReplicaState.VERIFIED
        replica.verified_at = now
    record_event(
        session,
        EventType.REPAIR,
        Outcome.SUCCESS,
        object_type="aip",
        object_id=aip.id,
        agency_id=aip.agency_id,
        target=target,
        detail=f"replica on {target} rewritten from the verified replica on {source}; "
        f"verified after repair ({after.files_checked} files)",
    )
    bump_daily(session, now, target, repairs=1)


def unrepairable(
    session: Session, aip: Aip, target: str, check_ids: list[int], tried: dict[str, str]
) -> RepairResult:
    """No replica verifies: mark the failed checks and raise a critical alert (to deliver
    once committed). Nothing is written to any store."""
    seen = ", ".join(f"{t}: {o}" for t, o in tried.items()) or "no other replica"
    detail = f"no replica of AIP {aip.id} verifies; nothing repaired ({target} failed; {seen})"
    for check_id in check_ids:
        check = session.get(FixityCheck, check_id)
        if check is not None and check.resolution is not None:
            check.resolution = UNREPAIRABLE
    alert = alerts.raise_alert(
        session, alerts.CRITICAL, "no-good-replica", detail, aip_id=aip.id, target=target
    )
    return RepairResult(False, None, detail, alert.id, tried)
