"""Queries over the catalogue. Scoping by agency lives here so no edge can forget it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from preserve.catalog.models import Agency, Aip, Event, Replica, ReplicaState, Sip
from preserve.errors import NotFound


def get_sip(session: Session, sip_id: str, *, agency_id: int | None = None) -> Sip:
    """``agency_id`` scopes the lookup in the same query that finds the SIP: another agency's
    SIP is as unknown as a missing one, in content and in the statements it costs."""
    stmt = select(Sip).where(Sip.id == sip_id)
    if agency_id is not None:
        stmt = stmt.where(Sip.agency_id == agency_id)
    sip = session.scalar(stmt)
    if sip is None:
        raise NotFound(f"no SIP {sip_id}")
    return sip


def get_aip(session: Session, aip_id: str, *, agency_id: int | None = None) -> Aip:
    """As :func:`get_sip`: the agency is checked by the query that finds the AIP, so its
    files and replicas are loaded only for an AIP the caller may see."""
    stmt = (
        select(Aip)
        .where(Aip.id == aip_id)
        .options(selectinload(Aip.files), selectinload(Aip.replicas))
    )
    if agency_id is not None:
        stmt = stmt.where(Aip.agency_id == agency_id)
    aip = session.scalar(stmt)
    if aip is None:
        raise NotFound(f"no AIP {aip_id}")
    return aip


def list_aips(session: Session) -> Sequence[Aip]:
    stmt = select(Aip).options(selectinload(Aip.files), selectinload(Aip.replicas))
    return session.scalars(stmt.order_by(Aip.created_at)).all()


def get_replica(session: Session, aip_id: str, target: str) -> Replica | None:
    return session.scalar(select(Replica).where(Replica.aip_id == aip_id, Replica.target == target))


def verified_targets(session: Session, aip_id: str) -> set[str]:
    stmt = select(Replica.target).where(
        Replica.aip_id == aip_id, Replica.state == ReplicaState.VERIFIED
    )
    return set(session.scalars(stmt))


def events_for(session: Session, object_type: str, object_id: str) -> Sequence[Event]:
    stmt = select(Event).where(Event.object_type == object_type, Event.object_id == object_id)
    return session.scalars(stmt.order_by(Event.id)).all()


def agency_names(session: Session) -> set[str]:
    return set(session.scalars(select(Agency.name)))


def aip_ids_present(session: Session, aip_ids: Sequence[str]) -> set[str]:
    return set(session.scalars(select(Aip.id).where(Aip.id.in_(list(aip_ids)))))


def replica_targets(session: Session) -> set[str]:
    """Every target a replica names, also one no profile names any more."""
    return set(session.scalars(select(Replica.target).distinct()))
