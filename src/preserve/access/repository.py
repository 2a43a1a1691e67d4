"""The catalogue queries of access: what a drill samples, what a site rebuild surveys, and
whether a catalogue rebuild may start."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from preserve.catalog.models import Aip, Replica, ReplicaState, Sip


def _verified_on(profile_ref: str, target: str):
    return (
        Replica.target == target,
        Replica.state == ReplicaState.VERIFIED,
        Aip.storage_profile == profile_ref,
    )


def held_on_target(session: Session, profile_ref: str, target: str) -> tuple[int, int]:
    """(AIPs, payload bytes) of the profile held as verified replicas on ``target``."""
    count, size = session.execute(
        select(func.count(), func.coalesce(func.sum(Aip.total_bytes), 0))
        .select_from(Replica)
        .join(Aip)
        .where(*_verified_on(profile_ref, target))
    ).one()
    return int(count), int(size)


def verified_aip_ids(session: Session, profile_ref: str, target: str) -> list[str]:
    """Ids, sorted, of the profile's AIPs held as verified replicas on ``target``."""
    stmt = select(Replica.aip_id).join(Aip).where(*_verified_on(profile_ref, target))
    return sorted(session.scalars(stmt))


def aips_oldest_first(session: Session) -> list[tuple[str, str, int]]:
    """(aip id, profile, payload bytes) of every AIP, oldest first."""
    stmt = select(Aip.id, Aip.storage_profile, Aip.total_bytes).order_by(Aip.created_at, Aip.id)
    return [(aip_id, profile, size) for aip_id, profile, size in session.execute(stmt)]


def aip_profiles(session: Session) -> set[str]:
    """Every storage profile an AIP was stored under."""
    return set(session.scalars(select(Aip.storage_profile).distinct()))


def aip_ids(session: Session) -> set[str]:
    return set(session.scalars(select(Aip.id)))


def first_nonempty_table(session: Session) -> str | None:
    """The first of ``sips``, ``aips`` holding a row (a catalogue rebuild needs them empty)."""
    for model in (Sip, Aip):
        if session.scalar(select(func.count()).select_from(model)):
            return model.__tablename__
    return None
