"""``preserve storage status``: where the copies stand, per target.

Replicas by state and verified bytes; the replication backlog (copies queued or running), the
oldest copy still waiting, copies waiting on an outage; each outage with its last error; and
the failures an operator must look at (copies whose job is dead, replicas that failed their
proof). All from the catalogue, but for the edge's note of targets that have vanished.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from preserve.catalog.models import JobState, ReplicaState
from preserve.storage import repository as repo

_LIVE = repo.LIVE
_MAX_FAILURES = 200


@dataclass
class TargetStatus:
    target: str
    verified: int = 0
    pending: int = 0
    failed: int = 0
    verified_bytes: int = 0
    backlog: int = 0
    running: int = 0
    waiting_on_outage: int = 0
    dead: int = 0
    oldest_pending: str | None = None
    down_since: str | None = None
    next_probe: str | None = None
    outage_failures: int = 0
    last_error: str | None = None


@dataclass
class Failure:
    aip_id: str
    target: str
    kind: str
    time: str | None
    detail: str


@dataclass
class StorageStatus:
    generated_at: str
    first_copies_waiting: int
    oldest_first_copy: str | None
    targets: list[TargetStatus] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    vanished: dict[str, str] = field(default_factory=dict)  # target -> problem
    space: list[dict] = field(default_factory=list)  # free space: data directory, fs targets

    def to_dict(self) -> dict:
        return asdict(self)


def storage_status(
    session: Session,
    known_targets: list[str],
    now: datetime,
    vanished: dict[str, str] | None = None,
) -> StorageStatus:
    """``known_targets`` (from the profiles) are listed even before they hold anything;
    ``vanished`` names the targets found to have lost their objects (the edge looks)."""
    waiting, oldest = repo.first_copies_waiting(session)
    status = StorageStatus(now.isoformat(), waiting, _iso(oldest), vanished=dict(vanished or {}))
    targets = {name: TargetStatus(name) for name in known_targets}
    _count_replicas(session, targets)
    _count_jobs(session, targets)
    _add_outages(session, targets)
    status.targets = sorted(targets.values(), key=lambda t: t.target)
    status.failures = _failures(session)
    return status


def replication_backlog(session: Session) -> dict[str, int]:
    """Copies queued or running, per target (for metrics)."""
    rows = repo.replication_backlog_rows(session)
    return {_target_of(resource): n for resource, n in rows if resource}


def _count_replicas(session: Session, targets: dict[str, TargetStatus]) -> None:
    for target, state, count, size in repo.replica_counts(session):
        t = targets.setdefault(target, TargetStatus(target))
        if state == ReplicaState.VERIFIED:
            t.verified += count
            t.verified_bytes += int(size or 0)
        elif state == ReplicaState.PENDING:
            t.pending += count
        else:
            t.failed += count


def _count_jobs(session: Session, targets: dict[str, TargetStatus]) -> None:
    for resource, state, count, oldest in repo.replication_job_counts(session):
        t = targets.setdefault(_target_of(resource), TargetStatus(_target_of(resource)))
        if state == JobState.DEAD:
            t.dead += count
            continue
        if state not in _LIVE:
            continue
        t.backlog += count
        t.running += count if state == JobState.RUNNING else 0
        if oldest is not None:
            t.oldest_pending = min(filter(None, (t.oldest_pending, oldest.isoformat())))


def _add_outages(session: Session, targets: dict[str, TargetStatus]) -> None:
    for outage in repo.outages(session):
        if not outage.resource.startswith("target:"):
            continue
        name = _target_of(outage.resource)
        t = targets.setdefault(name, TargetStatus(name))
        t.down_since = outage.since.isoformat()
        t.next_probe = outage.retry_after.isoformat()
        t.outage_failures = outage.failures
        t.last_error = outage.last_error
        t.waiting_on_outage = t.backlog - t.running


def _failures(session: Session) -> list[Failure]:
    failures = [
        Failure(
            str(job.payload.get("aip_id")),
            str(job.payload.get("target", "(first copy)")),
            f"job {job.kind} dead after {job.attempts} attempts",
            _iso(job.finished_at),
            _last_line(job.last_error),
        )
        for job in repo.dead_copy_jobs(session, _MAX_FAILURES)
    ]
    for aip_id, target in repo.failed_replicas(session, _MAX_FAILURES):
        failures.append(Failure(aip_id, target, "replica failed its proof", None, ""))
    return failures


def _last_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[-1] if lines else ""


def _target_of(resource: str) -> str:
    return resource.removeprefix("target:")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
