"""Every query of the storage package: copies, placement, reconcile and status.

Functions take a session and never commit; the caller (an edge) owns the transaction.
Queries shared with other packages (a replica, the verified targets of an AIP) stay in
:mod:`preserve.catalog.repository`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, or_, select
from sqlalchemy.orm import Session

from preserve.catalog.models import (
    Agency,
    Aip,
    File,
    Job,
    JobState,
    Outage,
    Replica,
    ReplicaState,
    Sip,
)

REPLICATE = "storage.replicate"
STORE = "storage.store"
LIVE = (JobState.QUEUED, JobState.RUNNING)


# -- copies ---------------------------------------------------------------------------------


def aip_files(session: Session, aip_id: str) -> Sequence[Row[tuple[str, str, int]]]:
    """(path, sha256, size) of every payload file of the AIP."""
    return session.execute(
        select(File.path, File.sha256, File.size).where(File.aip_id == aip_id)
    ).all()


def resources_down(session: Session) -> set[str]:
    """The resources (``target:<name>``) with an open outage."""
    return set(session.scalars(select(Outage.resource)))


def lock_sip(session: Session, sip_id: str) -> None:
    """Serialize the last steps of an AIP's copies on its SIP row (``SELECT ... FOR UPDATE``).

    Two workers finishing the last two copies at once would each see only its own new
    replica among the committed ones, and neither would find the policy met: the SIP would
    stay STORED for good. Whoever locks second reads the first's replica once it commits."""
    session.execute(select(Sip.id).where(Sip.id == sip_id).with_for_update())


# -- placement ------------------------------------------------------------------------------


def agency_by_name(session: Session, name: str) -> Agency | None:
    return session.scalar(select(Agency).where(Agency.name == name))


def agency_profiles(session: Session) -> list[tuple[str, str | None]]:
    """(agency name, its bound profile or None) for every agency."""
    return [(n, r) for n, r in session.execute(select(Agency.name, Agency.storage_profile))]


def profiles_in_use(session: Session) -> set[str]:
    """The profile references AIPs are placed under."""
    return set(session.scalars(select(Aip.storage_profile).distinct()))


# -- reconcile ------------------------------------------------------------------------------


def aips_under(session: Session, refs: Iterable[str]) -> dict[str, tuple[str, set[str]]]:
    """AIP id → (its profile, its payload's bag paths) for every AIP placed under ``refs``."""
    refs = list(refs)
    aips: dict[str, tuple[str, set[str]]] = {
        aip_id: (ref, set())
        for aip_id, ref in session.execute(
            select(Aip.id, Aip.storage_profile).where(Aip.storage_profile.in_(refs))
        )
    }
    rows = session.execute(
        select(File.aip_id, File.path).join(Aip).where(Aip.storage_profile.in_(refs))
    )
    for aip_id, path in rows:
        aips[aip_id][1].add(f"data/{path}")
    return aips


def aips_with_live_copy(session: Session, resource: str) -> set[str]:
    """AIPs whose copy job on ``resource`` is queued or running, or whose first copy is (it
    goes to whichever target takes it: a half-written bag on any target may be its own, and
    a killed worker's is taken up again by the next one)."""
    mine = or_(Job.resource == resource, Job.kind == STORE)
    rows = session.execute(select(Job.payload).where(mine, Job.state.in_(LIVE)))
    return {payload["aip_id"] for (payload,) in rows}


# -- status ---------------------------------------------------------------------------------


def first_copies_waiting(session: Session) -> tuple[int, datetime | None]:
    """How many first copies are queued or running, and when the oldest was queued."""
    count, oldest = session.execute(
        select(func.count(), func.min(Job.created_at)).where(Job.kind == STORE, Job.state.in_(LIVE))
    ).one()
    return count, oldest


def replication_backlog_rows(session: Session) -> list[tuple[str | None, int]]:
    """(resource, copies queued or running) per resource."""
    rows = session.execute(
        select(Job.resource, func.count())
        .where(Job.kind == REPLICATE, Job.state.in_(LIVE))
        .group_by(Job.resource)
    )
    return [(resource, n) for resource, n in rows]


def replica_counts(session: Session) -> list[tuple[str, ReplicaState, int, Any]]:
    """(target, state, replicas, their AIPs' bytes) per target and state."""
    rows = session.execute(
        select(Replica.target, Replica.state, func.count(), func.sum(Aip.total_bytes))
        .join(Aip, Aip.id == Replica.aip_id)
        .group_by(Replica.target, Replica.state)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


def replication_job_counts(session: Session) -> list[tuple[str, JobState, int, datetime | None]]:
    """(resource, job state, jobs, oldest created) per resource and state of copy jobs."""
    rows = session.execute(
        select(Job.resource, Job.state, func.count(), func.min(Job.created_at))
        .where(Job.kind == REPLICATE, Job.resource.is_not(None))
        .group_by(Job.resource, Job.state)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


def outages(session: Session) -> list[Outage]:
    return list(session.scalars(select(Outage)))


def dead_copy_jobs(session: Session, limit: int) -> list[Job]:
    """Dead store and replicate jobs, most recent first."""
    return list(
        session.scalars(
            select(Job)
            .where(Job.kind.in_((REPLICATE, STORE)), Job.state == JobState.DEAD)
            .order_by(Job.finished_at.desc())
            .limit(limit)
        )
    )


def failed_replicas(session: Session, limit: int) -> list[tuple[str, str]]:
    """(AIP id, target) of replicas that failed their proof."""
    rows = session.execute(
        select(Replica.aip_id, Replica.target)
        .where(Replica.state == ReplicaState.FAILED)
        .limit(limit)
    )
    return [(aip_id, target) for aip_id, target in rows]


def proven_counts(session: Session) -> dict[str, int]:
    """Replicas per target that were proven there once and are not given up: verified ones,
    and failed ones that had been verified (a store found empty keeps failing its check)."""
    rows = session.execute(
        select(Replica.target, func.count())
        .where(
            (Replica.state == ReplicaState.VERIFIED)
            | ((Replica.state == ReplicaState.FAILED) & Replica.verified_at.is_not(None))
        )
        .group_by(Replica.target)
    )
    return {target: count for target, count in rows}


def verified_counts(session: Session) -> dict[str, int]:
    """Verified replicas per target, as the catalogue believes them."""
    rows = session.execute(
        select(Replica.target, func.count())
        .where(Replica.state == ReplicaState.VERIFIED)
        .group_by(Replica.target)
    )
    return {target: count for target, count in rows}
