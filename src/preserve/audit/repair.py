"""Repairing a replica that failed its audit, from a replica that verifies now.

Every other replica of the AIP is a candidate, warm targets before cold ones; each is audited
in full now (and that check is recorded), and the first that is entirely ok is the source.
Its bag is copied over the bad replica with :func:`preserve.storage.copy.copy_bag`, which keeps
objects that are already right and overwrites the rest (a new object version on versioned or
WORM targets); then the repaired replica is audited again. Only an ok audit counts as a repair.
No good candidate means a critical alert and nothing is written: an unverified copy is never
used to "repair" anything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from preserve.aip import bag as bagit
from preserve.aip.layout import aip_key
from preserve.audit import alerts
from preserve.audit.auditor import AuditOutcome, ReplicaAudit, audit_replica
from preserve.audit.record import REPAIRED, UNREPAIRABLE, bump_daily, record_audit
from preserve.audit.targets import TargetPolicy, policy_for
from preserve.catalog.events import EventType, Outcome, record_event
from preserve.catalog.models import Aip, FixityCheck, ReplicaState
from preserve.catalog.repository import get_replica
from preserve.catalog.types import utcnow
from preserve.errors import IntegrityError
from preserve.runtime import Runtime
from preserve.storage.base import StorageError, read_bytes
from preserve.storage.copy import StoreSource, copy_bag, expected_digests

log = logging.getLogger(__name__)


@dataclass
class RepairResult:
    repaired: bool
    source: str | None = None
    detail: str = ""
    alert_id: int | None = None
    candidates: dict[str, str] = field(default_factory=dict)


def repair_replica(
    rt: Runtime, aip: Aip, target: str, check_id: int, policies: dict[str, TargetPolicy]
) -> RepairResult:
    """Repair ``aip``'s replica on ``target``, whose failed check is ``check_id``."""
    candidates: dict[str, str] = {}
    failed_checks = [check_id]
    source = None
    for name in _candidates(aip, target, policies, rt):
        audit = _audit(rt, aip, name)
        with rt.sessions.begin() as session:
            policy = policy_for(policies, name, rt.settings)
            check_id_of_candidate = record_audit(session, aip, audit, policy=policy).id
        candidates[name] = audit.outcome.value
        if audit.outcome == AuditOutcome.OK:
            source = name
            break
        failed_checks.append(check_id_of_candidate)
    if source is None:
        return _unrepairable(rt, aip, target, failed_checks, candidates)
    return _copy_and_verify(rt, aip, target, source, check_id, policies, candidates)


def _candidates(aip: Aip, target: str, policies: dict[str, TargetPolicy], rt: Runtime):
    others = [
        r.target for r in aip.replicas if r.target != target and r.state != ReplicaState.PENDING
    ]
    return sorted(others, key=lambda n: (policy_for(policies, n, rt.settings).cold, n))


def _audit(rt: Runtime, aip: Aip, target: str) -> ReplicaAudit:
    store = rt.store(aip.storage_profile, target)
    audit = audit_replica(store, aip, rt.trusted_keys(), workers=rt.settings.audit_workers)
    audit.checked_at = utcnow()
    return audit


def _copy_and_verify(
    rt: Runtime,
    aip: Aip,
    target: str,
    source: str,
    check_id: int,
    policies: dict[str, TargetPolicy],
    candidates: dict[str, str],
) -> RepairResult:
    good = rt.store(aip.storage_profile, source)
    bad = rt.store(aip.storage_profile, target)
    try:
        tagmanifest = read_bytes(good, aip_key(aip.id, bagit.TAGMANIFEST))
        payload = {f.path: f.sha256 for f in aip.files}
        expected = expected_digests(payload, tagmanifest, aip.tagmanifest_sha256)
        copy_bag(StoreSource(good, aip.id), bad, aip.id, expected, list(bagit.UNRECORDED))
    except (StorageError, IntegrityError) as exc:
        log.error("repair of %s on %s from %s failed: %s", aip.id, target, source, exc)
        return RepairResult(False, source, f"copy from {source} failed: {exc}", None, candidates)
    after = _audit(rt, aip, target)
    with rt.sessions.begin() as session:
        if after.outcome != AuditOutcome.OK:
            record_audit(session, aip, after, policy=policy_for(policies, target, rt.settings))
            alert = alerts.raise_alert(
                session,
                alerts.CRITICAL,
                "repair-failed",
                f"replica still fails after repair from {source}: {after.summary(5)}",
                aip_id=aip.id,
                target=target,
            )
            alert_id = alert.id
        else:
            _record_repair(session, aip, target, source, check_id, after)
            record_audit(session, aip, after, policy=policy_for(policies, target, rt.settings))
            alert_id = None
    if alert_id is not None:
        alerts.deliver(rt, alert_id)
        return RepairResult(False, source, "verification after repair failed", alert_id, candidates)
    return RepairResult(True, source, f"repaired from {source}", None, candidates)


def _record_repair(session, aip: Aip, target: str, source: str, check_id: int, after) -> None:
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


def _unrepairable(
    rt: Runtime, aip: Aip, target: str, check_ids: list[int], candidates: dict[str, str]
) -> RepairResult:
    seen = ", ".join(f"{t}: {o}" for t, o in candidates.items()) or "no other replica"
    detail = f"no replica of AIP {aip.id} verifies; nothing repaired ({target} failed; {seen})"
    with rt.sessions.begin() as session:
        for check_id in check_ids:
            check = session.get(FixityCheck, check_id)
            if check is not None and check.resolution is not None:
                check.resolution = UNREPAIRABLE
        alert = alerts.raise_alert(
            session, alerts.CRITICAL, "no-good-replica", detail, aip_id=aip.id, target=target
        )
        alert_id = alert.id
    alerts.deliver(rt, alert_id)
    return RepairResult(False, None, detail, alert_id, candidates)
