"""Audit jobs and periodic work, and the drivers of an audit run that they and
``preserve audit run`` share.

Every audit is plan -> execute -> record (:mod:`preserve.audit.service`): this edge owns the
transactions, so each replica is read with no session open and its outcome recorded in a short
transaction of its own, and a long audit never holds the database's write lock. The repair loop
is driven here too, one transaction per candidate (:func:`repair`), and alerts are POSTed to the
webhook only after the transaction that raised them committed (:func:`deliver_alert`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from preserve.audit import alerts
from preserve.audit import repair as repairs
from preserve.audit.auditor import AuditOutcome, ReplicaAudit
from preserve.audit.dashboard import take_snapshot
from preserve.audit.repair import RepairResult
from preserve.audit.schedule import plan_all
from preserve.audit.service import (
    AuditPlan,
    AuditRun,
    Selection,
    check_replica,
    needs_restore,
    plan_audit,
    poll_later,
    record_check,
    replicas_to_audit,
    request_restore,
    restore_requested,
    selection_bytes,
    settle_state,
    storage_profile_of,
    waits_for_restore,
)
from preserve.audit.targets import target_policies
from preserve.catalog.types import utcnow
from preserve.jobs.registry import task
from preserve.jobs.scheduler import periodic
from preserve.runtime import Runtime
from preserve.storage.base import Store

Progress = Callable[[int], None]


@task("audit.replica")
def audit_replica_job(rt: Runtime, payload: dict[str, Any]) -> None:
    run_scheduled_audit(rt, payload["aip_id"], payload["target"])


@task("audit.restore")
def restore_job(rt: Runtime, payload: dict[str, Any]) -> None:
    with rt.sessions.begin() as session:
        profile = storage_profile_of(session, payload["aip_id"])
    if profile is not None:
        request_restore(rt.store(profile, payload["target"]), payload["aip_id"])


@periodic("audit.plan", every=lambda settings: settings.audit_tick_seconds)
def plan_audits(rt: Runtime, now: datetime) -> None:
    with rt.sessions.begin() as session:
        horizon = timedelta(seconds=rt.settings.audit_tick_seconds)
        plan_all(session, target_policies(session, rt.stores, rt.settings), now, horizon)


@periodic("audit.dashboard", every=lambda settings: settings.dashboard_snapshot_seconds)
def snapshot_dashboard(rt: Runtime, now: datetime) -> None:
    """Count the officer's dashboard into a new snapshot, which its page reads."""
    with rt.sessions.begin() as session:
        take_snapshot(session, rt.stores, rt.settings, now)


@periodic("audit.alerts", every=300)
def redeliver_alerts(rt: Runtime, now: datetime) -> None:
    redeliver(rt, now)


def run_scheduled_audit(rt: Runtime, aip_id: str, target: str) -> ReplicaAudit | None:
    """The ``audit.replica`` job: a cold replica waits (up to a limit) until it is restored."""
    plan = _plan(rt, aip_id, target)
    if plan.replica is None:
        return None
    if waits_for_restore(plan, _store(rt, plan)):
        with rt.sessions.begin() as session:
            poll_later(session, aip_id, target)
        return None
    return audit_and_record(rt, plan, repair=True)


def audit_all(
    rt: Runtime,
    aip_ids: list[str] | None = None,
    target: str | None = None,
    progress: Progress | None = None,
    *,
    repair: bool = False,
) -> list[ReplicaAudit]:
    """Audit every replica (of the given AIPs, on the given target) and record the checks."""
    return run_audits(rt, Selection(aip_ids, target), progress, repair=repair).audits


def choose(rt: Runtime, selection: Selection, now: datetime | None = None) -> list[tuple[str, str]]:
    """The replicas a run audits (giving new replicas their due time first, with ``--due``)."""
    with rt.sessions.begin() as session:
        policies = None
        if selection.due_only:
            policies = target_policies(session, rt.stores, rt.settings)
        return replicas_to_audit(session, selection, now or utcnow(), policies)


def bytes_of(rt: Runtime, pairs: list[tuple[str, str]]) -> int:
    with rt.sessions.begin() as session:
        return selection_bytes(session, pairs)


def run_audits(
    rt: Runtime,
    selection: Selection,
    progress: Progress | None = None,
    *,
    repair: bool = False,
    pairs: list[tuple[str, str]] | None = None,
) -> AuditRun:
    """The operator's run: every chosen replica (``pairs``, or those of ``selection``)."""
    run = AuditRun()
    for aip_id, target in choose(rt, selection) if pairs is None else pairs:
        plan = _plan(rt, aip_id, target)
        if _restore_first(rt, plan):
            run.restores_requested.append((aip_id, target))
            continue
        audit = audit_and_record(rt, plan, repair=repair, progress=progress)
        run.audits.append(audit)
        if audit.repair is not None:
            run.repairs[(aip_id, target)] = audit.repair
    return run


def _restore_first(rt: Runtime, plan: AuditPlan) -> bool:
    """A cold replica that cannot be read now: ask for a restore (its audit job comes later)."""
    store = _store(rt, plan)
    if not needs_restore(plan, store):
        return False
    request_restore(store, plan.aip.id)
    with rt.sessions.begin() as session:
        restore_requested(session, plan.aip.id, plan.target)
    return True


def audit_and_record(
    rt: Runtime, plan: AuditPlan, *, repair: bool, progress: Progress | None = None
) -> ReplicaAudit:
    audit = _check(rt, plan, plan.target, progress)
    with rt.sessions.begin() as session:
        check_id = record_check(session, plan, audit)
    if repair and audit.outcome != AuditOutcome.OK:
        audit.repair = repair_replica(rt, plan, check_id)
    return audit


def repair_replica(rt: Runtime, plan: AuditPlan, check_id: int) -> RepairResult:
    """Repair the planned replica, whose failed check is ``check_id``, from the first other
    replica that verifies now; each candidate's check is recorded in its own transaction."""
    tried: dict[str, str] = {}
    failed = [check_id]
    for name in repairs.candidates(plan.aip, plan.target, plan.policies, rt.settings):
        audit = _check(rt, plan, name)
        with rt.sessions.begin() as session:
            candidate_check = record_check(session, plan, audit)
        tried[name] = audit.outcome.value
        if audit.outcome == AuditOutcome.OK:
            return _repair_from(rt, plan, name, check_id, tried)
        failed.append(candidate_check)
    with rt.sessions.begin() as session:
        result = repairs.unrepairable(session, plan.aip, plan.target, failed, tried)
    deliver_alert(rt, result.alert_id)
    return result


def _repair_from(
    rt: Runtime, plan: AuditPlan, source: str, check_id: int, tried: dict[str, str]
) -> RepairResult:
    error = repairs.copy_from(rt.stores, plan.aip, source, plan.target)
    if error is not None:
        return RepairResult(False, source, error, None, tried)
    after = _check(rt, plan, plan.target)
    with rt.sessions.begin() as session:
        result = repairs.record_outcome(
            session, plan.aip, source, check_id, after, plan.policy(), tried
        )
        settle_state(session, plan, f"repair of the replica on {plan.target} from {source}")
    if result.alert_id is not None:
        deliver_alert(rt, result.alert_id)
    return result


def deliver_alert(rt: Runtime, alert_id: int | None) -> bool:
    """POST one committed alert to the webhook; True when it was accepted (or sent before)."""
    url = rt.settings.alert_webhook_url
    if not url or alert_id is None:
        return False
    with rt.sessions.begin() as session:
        body = alerts.outgoing(session, alert_id)
    if body is None:
        return True
    error = alerts.post(url, body)
    with rt.sessions.begin() as session:
        alerts.record_delivery(session, alert_id, error)
    return error is None


def redeliver(rt: Runtime, now: datetime | None = None) -> int:
    """Retry undelivered alerts of the last day; how many the webhook accepted."""
    if not rt.settings.alert_webhook_url:
        return 0
    with rt.sessions.begin() as session:
        ids = alerts.to_redeliver(session, now)
    return sum(deliver_alert(rt, alert_id) for alert_id in ids)


def _plan(rt: Runtime, aip_id: str, target: str) -> AuditPlan:
    with rt.sessions.begin() as session:
        return plan_audit(session, rt.stores, rt.settings, aip_id, target)


def _store(rt: Runtime, plan: AuditPlan, target: str | None = None) -> Store:
    return rt.store(plan.aip.storage_profile, target or plan.target)


def _check(
    rt: Runtime, plan: AuditPlan, target: str, progress: Progress | None = None
) -> ReplicaAudit:
    store = _store(rt, plan, target)
    workers = rt.settings.audit_workers
    return check_replica(plan, store, rt.trusted_keys(), workers=workers, progress=progress)
