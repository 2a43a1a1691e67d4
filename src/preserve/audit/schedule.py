"""The rolling fixity schedule: every replica has a due time, spread evenly over its interval.

A replica's first due time is its verification time plus a phase in [0, interval): the
fractional part of ``id × φ`` (φ the golden ratio). Consecutive ids land as far apart as any
sequence can (the three-gap theorem), so a thousand AIPs ingested in one hour are still due one
after another across the whole interval instead of all on day 90. Each cycle adds exactly one
interval to the due time, so the phase, and with it the spread, is kept for ever.

Each scheduler tick plans, per target, the replicas that are due: it queues ``audit.replica``
jobs whose ``run_after`` times are paced so that the planned reads stay within the target's
bandwidth budget (bytes ÷ MB/s), at most one tick ahead. Cold targets (archive storage
classes) are sampled instead: in each cycle a replica is in the sample when
``frac(id × (√2−1) + cycle × share) < share``; the windows of ``1/share`` consecutive cycles
tile [0, 1), so every replica is sampled once in that many intervals, and the share of each
cycle's sample is exact up to a replica or two. A sampled replica gets a restore request
first, and its audit job waits until every object is readable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from preserve.audit import repository
from preserve.audit.targets import TargetPolicy
from preserve.catalog.models import AuditPacing, Replica
from preserve.catalog.queue import enqueue
from preserve.catalog.types import utcnow

PHI = (math.sqrt(5) - 1) / 2
SAMPLE_STEP = math.sqrt(2) - 1
REQUEUE_AFTER = timedelta(hours=6)  # a planned audit not done by then is planned again
RESTORE_POLL = timedelta(minutes=15)
RESTORE_TIMEOUT = timedelta(hours=48)
FAILED_RETRY = timedelta(days=1)
TAG_BYTES = 64 * 1024  # what the tag files of a bag add to its payload, roughly
NEW_BATCH = 5000
DUE_BATCH = 1000


def phase(replica_id: int) -> float:
    return (replica_id * PHI) % 1.0


def first_due(replica_id: int, base: datetime, interval: timedelta) -> datetime:
    return base + interval * phase(replica_id)


def advance(due: datetime, interval: timedelta, after: datetime) -> datetime:
    """The first time ``due + k × interval`` (k ≥ 0) that is later than ``after``."""
    if due > after:
        return due
    cycles = (after - due) // interval + 1
    return due + interval * cycles


def cycle_of(due: datetime, interval: timedelta) -> int:
    return int(due.timestamp() // interval.total_seconds())


def in_sample(replica_id: int, due: datetime, policy: TargetPolicy) -> bool:
    if not policy.cold or policy.sample_share >= 1:
        return True
    share = policy.sample_share
    return (replica_id * SAMPLE_STEP + cycle_of(due, policy.interval) * share) % 1.0 < share


def reschedule(replica: Replica, policy: TargetPolicy, checked_at: datetime, ok: bool) -> None:
    """After a check: the next cycle's due time; a failure is looked at again sooner."""
    if replica.audit_due_at is None:
        base = replica.verified_at or checked_at
        replica.audit_due_at = first_due(replica.id, base, policy.interval)
    replica.audit_due_at = advance(replica.audit_due_at, policy.interval, checked_at)
    replica.next_audit_at = replica.audit_due_at
    if not ok:
        replica.next_audit_at = min(replica.audit_due_at, checked_at + FAILED_RETRY)
    replica.restore_requested_at = None


@dataclass
class Plan:
    target: str
    scheduled: int = 0
    audits: int = 0
    restores: int = 0
    skipped: int = 0
    bytes: int = 0


def schedule_new(session: Session, policy: TargetPolicy, now: datetime) -> int:
    """Give a first due time to replicas that have none yet (new, or older than the schedule)."""
    count = 0
    for replica in repository.unscheduled(session, policy.name, NEW_BATCH):
        replica.audit_due_at = first_due(replica.id, replica.verified_at or now, policy.interval)
        replica.next_audit_at = replica.audit_due_at
        count += 1
    session.flush()
    return count


def plan_target(session: Session, policy: TargetPolicy, now: datetime, horizon: timedelta) -> Plan:
    plan = Plan(policy.name, scheduled=schedule_new(session, policy, now))
    pacing = session.get(AuditPacing, policy.name)
    if pacing is None:
        pacing = AuditPacing(target=policy.name, paced_until=now)
        session.add(pacing)
    cursor = max(pacing.paced_until, now)
    rate = policy.bandwidth_mb_s * 1_000_000
    with session.no_autoflush:
        cursor = _plan_batch(session, policy, now, horizon, cursor, rate, plan)
    pacing.paced_until = cursor
    return plan


def _plan_batch(session, policy, now, horizon, cursor, rate, plan: Plan) -> datetime:
    for replica, size in repository.due_batch(session, policy.name, now, DUE_BATCH):
        if policy.cold and replica.restore_requested_at is None:
            _sample(session, replica, policy, now, plan)
            continue
        if cursor > now + horizon:
            break
        enqueue(
            session,
            "audit.replica",
            {"aip_id": replica.aip_id, "target": replica.target},
            dedupe_key=f"audit:{replica.aip_id}:{replica.target}",
            run_after=cursor,
        )
        cursor += timedelta(seconds=(size + TAG_BYTES) / rate)
        replica.next_audit_at = now + REQUEUE_AFTER
        plan.audits += 1
        plan.bytes += size
    return cursor


def _sample(
    session: Session, replica: Replica, policy: TargetPolicy, now: datetime, plan: Plan
) -> None:
    due = replica.audit_due_at or now
    if not in_sample(replica.id, due, policy):
        replica.audit_due_at = advance(due, policy.interval, now)
        replica.next_audit_at = replica.audit_due_at
        plan.skipped += 1
        return
    enqueue(
        session,
        "audit.restore",
        {"aip_id": replica.aip_id, "target": replica.target},
        dedupe_key=f"audit-restore:{replica.aip_id}:{replica.target}",
    )
    replica.restore_requested_at = now
    replica.next_audit_at = now + RESTORE_POLL
    plan.restores += 1


def plan_all(
    session: Session,
    policies: dict[str, TargetPolicy],
    now: datetime | None = None,
    horizon: timedelta = timedelta(minutes=1),
) -> list[Plan]:
    now = now or utcnow()
    return [plan_target(session, policies[name], now, horizon) for name in sorted(policies)]
